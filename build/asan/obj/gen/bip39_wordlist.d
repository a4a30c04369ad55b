build/asan/obj/gen/bip39_wordlist.o: build/gen/bip39_wordlist.c \
 keystore/bip39_wordlist.h
keystore/bip39_wordlist.h:
