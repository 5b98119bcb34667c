#include "multiagent.h"
#define Env Multiagent
#define ENV_NAME multiagent
#define OBS_TYPE float
#define ACT_TYPE int
#define NUM_AGENTS 2
#define OBS_SIZE(env) 2
#define ACT_SIZE 1
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->tick, 0, (env)->horizon - 1) FIELD((env)->differed, 0, (env)->tick) \
    FIELD((env)->last_actions, -1, 1)
#include "vecenv.h"

static int my_init(Env* env, PyObject* kwargs) {
    return unpack_int(kwargs, "horizon", &env->horizon, 1, 100000);
}

static void my_log(Log* log, PyObject* dict) {}
