#include "delay.h"
#define Env Delay
#define ENV_NAME delay
#define DESCRIPTION "Sanity: name a cue shown `delay` blank steps before the query (credit assignment; needs an RNN)"
#define PARAMS(INT, FLOAT) \
    INT(delay, 8, 1, 256) INT(num_cues, 4, 2, 16)
#define NUM_AGENTS 1
#define OBS_SIZE(env) ((env)->num_cues + 1)
#define OBS_LOW(env, i) 0
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 1
#define ACT_N(env, j) ((env)->num_cues)
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->cue, 0, (env)->num_cues - 1) FIELD((env)->tick, 0, (env)->delay + 1) \
    FIELD((env)->last_correct, -1, 1)
#include "vecenv.h"
