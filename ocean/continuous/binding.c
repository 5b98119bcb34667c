#include "continuous.h"
#define Env Continuous
#define ENV_NAME continuous
#define OBS_TYPE float
#define ACT_TYPE float
#define NUM_AGENTS 1
#define OBS_SIZE(env) CONTINUOUS_DIMS
#define ACT_SIZE CONTINUOUS_DIMS
#define STATE(env, FIELD, ARRAY) FIELD((env)->target, -1, 1) FIELD((env)->last_action, -1, 1)
#include "vecenv.h"

static int my_init(Env* env, PyObject* kwargs) {
    return unpack_float(kwargs, "tolerance", &env->tolerance, 0.0f, 2.0f);
}

static void my_log(Log* log, PyObject* dict) {
    log_add(dict, "error", log->error);
}
