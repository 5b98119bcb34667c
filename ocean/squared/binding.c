#include "squared.h"
#define Env Squared
#define ENV_NAME squared
#define DESCRIPTION "Sanity: walk from the centre of a grid to a target on its border"
#define PARAMS(INT, FLOAT) \
    INT(size, 7, 2, 63) INT(max_steps, 21, 1, 1000000)
#define NUM_AGENTS 1
#define OBS_SIZE(env) (2 * (env)->size * (env)->size)
#define OBS_LOW(env, i) 0
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) 5
// Saved and checked by snapshot()/restore(): every position on the grid, the tick before its limit.
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->agent_row, 0, (env)->size - 1) FIELD((env)->agent_col, 0, (env)->size - 1) \
    FIELD((env)->target_row, 0, (env)->size - 1) FIELD((env)->target_col, 0, (env)->size - 1) \
    FIELD((env)->tick, 0, (env)->max_steps - 1) FIELD((env)->episode_return, 0, 1)
#include "vecenv.h"
