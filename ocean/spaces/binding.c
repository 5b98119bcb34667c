#include "spaces.h"
#define Env Spaces
#define ENV_NAME spaces
#define DESCRIPTION "Sanity: read an image part and a vector part, answer with MultiDiscrete actions"
#define PARAMS(INT, FLOAT)
#define NUM_AGENTS 1
#define OBS_SIZE(env) (SPACES_IMAGE + SPACES_FLAT)
#define OBS_LOW(env, i) -1
#define OBS_HIGH(env, i) 1
#define ACT_SIZE 2
#define ACT_N(env, j) 2
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->image_answer, 0, 1) FIELD((env)->flat_answer, 0, 1) FIELD((env)->last_actions, -1, 1)
#include "vecenv.h"
