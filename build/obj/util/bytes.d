build/obj/util/bytes.o: util/bytes.c util/bytes.h util/result.h
util/bytes.h:
util/result.h:
