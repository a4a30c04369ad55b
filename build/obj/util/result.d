build/obj/util/result.o: util/result.c util/result.h
util/result.h:
