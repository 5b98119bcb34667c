#include "bandit.h"
#define Env Bandit
#define ENV_NAME bandit
#define OBS_TYPE float
#define ACT_TYPE int
#define NUM_AGENTS 1
#define OBS_SIZE(env) 1
#define ACT_SIZE 1
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->last_arm, -1, (env)->num_arms - 1) FIELD((env)->last_reward, 0, 1)
#include "vecenv.h"

static int my_init(Env* env, PyObject* kwargs) {
    if (unpack_int(kwargs, "num_arms", &env->num_arms, 2, 64)) return -1;
    return unpack_int(kwargs, "best_arm", &env->best_arm, 0, env->num_arms - 1)
        || unpack_float(kwargs, "best_prob", &env->best_prob, 0.0f, 1.0f)
        || unpack_float(kwargs, "other_prob", &env->other_prob, 0.0f, 1.0f) ? -1 : 0;
}

static void my_log(Log* log, PyObject* dict) {}
