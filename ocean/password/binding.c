#include "password.h"
#define Env Password
#define ENV_NAME password
#define DESCRIPTION "Sanity: find one exact sequence of binary actions from a sparse reward"
#define PARAMS(INT, FLOAT) \
    INT(length, 5, 1, PASSWORD_MAX) INT(password_seed, 42, 0, 2147483647)
#define NUM_AGENTS 1
#define OBS_SIZE(env) ((env)->length)
#define OBS_LOW(env, i) 0
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) 2
// The password itself is not state: c_init draws it from password_seed.
#define STATE(env, FIELD, ARRAY) FIELD((env)->position, 0, (env)->length - 1)
#include "vecenv.h"
