build/obj/tests/unit/json_lite.o: tests/unit/json_lite.c \
 tests/unit/json_lite.h tests/unit/harness.h util/result.h
tests/unit/json_lite.h:
tests/unit/harness.h:
util/result.h:
