build/asan/obj/util/hex.o: util/hex.c util/hex.h util/result.h
util/hex.h:
util/result.h:
