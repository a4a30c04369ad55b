build/obj/tests/unit/harness.o: tests/unit/harness.c tests/unit/harness.h \
 util/result.h
tests/unit/harness.h:
util/result.h:
