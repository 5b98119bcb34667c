#include "squared.h"
#define Env Squared
#define ENV_NAME squared
#define OBS_TYPE unsigned char
#define ACT_TYPE int
#define NUM_AGENTS 1
#define OBS_SIZE(env) (2 * (env)->size * (env)->size)
#define ACT_SIZE 1
// Saved and checked by snapshot()/restore(): every position on the grid, the tick before its limit.
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->agent_row, 0, (env)->size - 1) FIELD((env)->agent_col, 0, (env)->size - 1) \
    FIELD((env)->target_row, 0, (env)->size - 1) FIELD((env)->target_col, 0, (env)->size - 1) \
    FIELD((env)->tick, 0, (env)->max_steps - 1) FIELD((env)->episode_return, 0, 1)
#include "vecenv.h"

static int my_init(Env* env, PyObject* kwargs) {
    return unpack_int(kwargs, "size", &env->size, 2, 63)
        || unpack_int(kwargs, "max_steps", &env->max_steps, 1, 1000000) ? -1 : 0;
}

static void my_log(Log* log, PyObject* dict) {}
