#include "multiagent.h"
#define Env Multiagent
#define ENV_NAME multiagent
#define DESCRIPTION "Sanity: two agents sharing a policy must act differently"
#define PARAMS(INT, FLOAT) \
    INT(horizon, 4, 1, 100000)
#define NUM_AGENTS 2
#define OBS_SIZE(env) 2
#define OBS_LOW(env, i) 0
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) 2
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->tick, 0, (env)->horizon - 1) FIELD((env)->differed, 0, (env)->tick) \
    FIELD((env)->last_actions, -1, 1)
#include "vecenv.h"
