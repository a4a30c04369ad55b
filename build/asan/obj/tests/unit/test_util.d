build/asan/obj/tests/unit/test_util.o: tests/unit/test_util.c \
 tests/unit/harness.h util/result.h util/bytes.h util/hex.h util/secmem.h
tests/unit/harness.h:
util/result.h:
util/bytes.h:
util/hex.h:
util/secmem.h:
