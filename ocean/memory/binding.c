#include "memory.h"
#define Env Memory
#define ENV_NAME memory
#define DESCRIPTION "Sanity: recall a bit shown `delay` steps earlier (needs an RNN)"
#define PARAMS(INT, FLOAT) \
    INT(delay, 4, 0, 10000)
#define NUM_AGENTS 1
#define OBS_SIZE(env) 2
#define OBS_LOW(env, i) -1
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) 2
#define STATE(env, FIELD, ARRAY) FIELD((env)->bit, 0, 1) FIELD((env)->tick, 0, (env)->delay)
#include "vecenv.h"
