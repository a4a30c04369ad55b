build/obj/util/secmem.o: util/secmem.c util/secmem.h util/result.h
util/secmem.h:
util/result.h:
