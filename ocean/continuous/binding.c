#include "continuous.h"
#define Env Continuous
#define ENV_NAME continuous
#define DESCRIPTION "Sanity: move a Box action onto a target point"
#define PARAMS(INT, FLOAT) \
    FLOAT(tolerance, 0.2, 0.0f, 2.0f)
#define NUM_AGENTS 1
#define OBS_SIZE(env) CONTINUOUS_DIMS
#define OBS_LOW(env, i) -1
#define OBS_HIGH(env, i) 1
#define ACT_SIZE CONTINUOUS_DIMS
#define ACT_N(env, j) 0
#define STATE(env, FIELD, ARRAY) FIELD((env)->target, -1, 1) FIELD((env)->last_action, -1, 1)
#include "vecenv.h"
