build/obj/util/log.o: util/log.c util/log.h util/result.h
util/log.h:
util/result.h:
