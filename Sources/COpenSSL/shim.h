// Only libcrypto's EVP digest API, for SHA-256 of downloaded weights.
#include <openssl/evp.h>
