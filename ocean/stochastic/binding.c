#include "stochastic.h"
#define Env Stochastic
#define ENV_NAME stochastic
#define DESCRIPTION "Sanity: only a random (non-deterministic) policy can score"
#define PARAMS(INT, FLOAT) \
    FLOAT(p, 0.75, 0.0f, 1.0f) INT(horizon, 32, 1, 100000) FLOAT(tolerance, 0.15, 0.0f, 1.0f)
#define NUM_AGENTS 1
#define OBS_SIZE(env) 1
#define OBS_LOW(env, i) 0
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) 2
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->tick, 0, (env)->horizon - 1) FIELD((env)->count0, 0, (env)->tick) \
    FIELD((env)->potential, -1, 0) FIELD((env)->episode_return, -FLT_MAX, FLT_MAX)
#include "vecenv.h"
