#include "stochastic.h"
#define Env Stochastic
#define ENV_NAME stochastic
#define OBS_TYPE float
#define ACT_TYPE int
#define NUM_AGENTS 1
#define OBS_SIZE(env) 1
#define ACT_SIZE 1
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->tick, 0, (env)->horizon - 1) FIELD((env)->count0, 0, (env)->tick) \
    FIELD((env)->potential, -1, 0) FIELD((env)->episode_return, -FLT_MAX, FLT_MAX)
#include "vecenv.h"

static int my_init(Env* env, PyObject* kwargs) {
    return unpack_float(kwargs, "p", &env->p, 0.0f, 1.0f)
        || unpack_int(kwargs, "horizon", &env->horizon, 1, 100000)
        || unpack_float(kwargs, "tolerance", &env->tolerance, 0.0f, 1.0f) ? -1 : 0;
}

static void my_log(Log* log, PyObject* dict) {
    log_add(dict, "fraction", log->fraction);
}
