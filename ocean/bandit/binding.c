#include "bandit.h"
#define Env Bandit
#define ENV_NAME bandit
#define DESCRIPTION "Sanity: find the best arm of a bandit from noisy rewards"
#define PARAMS(INT, FLOAT) \
    INT(num_arms, 4, 2, 64) INT(best_arm, 2, 0, env->num_arms - 1) FLOAT(best_prob, 0.8, 0.0f, 1.0f) \
    FLOAT(other_prob, 0.2, 0.0f, 1.0f)
#define NUM_AGENTS 1
#define OBS_SIZE(env) 1
#define OBS_LOW(env, i) 0
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) (env)->num_arms
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->last_arm, -1, (env)->num_arms - 1) FIELD((env)->last_reward, 0, 1)
#include "vecenv.h"
