#include "spaces.h"
#define Env Spaces
#define ENV_NAME spaces
#define OBS_TYPE float
#define ACT_TYPE int
#define NUM_AGENTS 1
#define OBS_SIZE(env) (SPACES_IMAGE + SPACES_FLAT)
#define ACT_SIZE 2
#define STATE(env, FIELD, ARRAY) \
    FIELD((env)->image_answer, 0, 1) FIELD((env)->flat_answer, 0, 1) FIELD((env)->last_actions, -1, 1)
#include "vecenv.h"

static int my_init(Env* env, PyObject* kwargs) { return 0; }  // no parameters

static void my_log(Log* log, PyObject* dict) {
    log_add(dict, "image_correct", log->image_correct);
    log_add(dict, "flat_correct", log->flat_correct);
}
