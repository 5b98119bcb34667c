// Sanitizer driver: runs one Ocean env through the plain-C core of vecenv.h (no Python) with random and out-of-range
// actions, resets, renders and log reads. Built by sanitize.sh with -fsanitize=address,undefined, once per env:
//   gcc ... -DPUFFER_NO_PYTHON -DBINDING='"ocean/<env>/binding.c"' -Iocean -Iocean/<env> ocean/sanitize.c
// Usage: sanitize STEPS NUM_ENVS int|float LOW,LOW,.. HIGH,HIGH,.. [key=value ...]
// LOW/HIGH are the inclusive action bounds per action element. Exit status 1 on any broken invariant.
#include BINDING

#include <math.h>

static int parse_bounds(const char* text, double* out) {
    char* end;
    for (int j = 0; j < ACT_SIZE; j++) {
        out[j] = strtod(text, &end);
        if (end == text) return -1;
        text = *end == ',' ? end + 1 : end;
    }
    return *end == '\0' ? 0 : -1;
}

// 1 in 8 actions is out of range (far below, far above, extreme or NaN); the rest are uniform in [low, high].
static void random_actions(uint64_t* rng, void* actions, int floats, size_t count, const double* low,
                           const double* high) {
    for (size_t k = 0; k < count; k++) {
        int j = (int)(k % ACT_SIZE);
        int wild = rng_int(rng, 8) == 0;
        int kind = rng_int(rng, 4);
        if (floats) {
            float span = (float)(high[j] - low[j]);
            float value = (float)low[j] + span * rng_float(rng);
            if (wild) value = kind == 0 ? NAN : kind == 1 ? -1e30f : kind == 2 ? INFINITY : (float)high[j] + 5.0f;
            ((float*)actions)[k] = value;
        } else {
            int value = (int)low[j] + rng_int(rng, (int)(high[j] - low[j]) + 1);
            if (wild) value = kind == 0 ? -2147483647 - 1 : kind == 1 ? 2147483647 : kind == 2 ? -1 : (int)high[j] + 1;
            ((int*)actions)[k] = value;
        }
    }
}

int main(int argc, char** argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s STEPS NUM_ENVS int|float LOWS HIGHS [key=value ...]\n", argv[0]);
        return 2;
    }
    long steps = strtol(argv[1], NULL, 10);
    int num_envs = (int)strtol(argv[2], NULL, 10);
    int floats = strcmp(argv[3], "float") == 0;
    double low[ACT_SIZE], high[ACT_SIZE];
    if (parse_bounds(argv[4], low) || parse_bounds(argv[5], high)) {
        fprintf(stderr, "%s: expected %d comma-separated action bounds\n", PUFFER_ENV_NAME, ACT_SIZE);
        return 2;
    }
    int count = argc - 6;
    const char* keys[PUFFER_MAX_PARAMS];
    const char* values[PUFFER_MAX_PARAMS];
    char* pairs[PUFFER_MAX_PARAMS];
    for (int p = 0; p < count && p < PUFFER_MAX_PARAMS; p++) {
        pairs[p] = strdup(argv[6 + p]);
        char* equals = strchr(pairs[p], '=');
        if (equals == NULL) { fprintf(stderr, "parameter '%s' is not key=value\n", pairs[p]); return 2; }
        *equals = '\0';
        keys[p] = pairs[p];
        values[p] = equals + 1;
    }
    PyObject params = {count, keys, values};

    Vec vec = {0};
    if (vec_configure(&vec, num_envs, &params)) return 1;
    size_t rows = (size_t)num_envs * NUM_AGENTS;
    size_t num_actions = rows * ACT_SIZE;
    OBS_TYPE* observations = calloc(rows * vec.obs_size, sizeof(OBS_TYPE));
    void* actions = calloc(num_actions, 4);
    float* rewards = calloc(rows, sizeof(float));
    unsigned char* terminals = calloc(rows, 1);
    unsigned char* truncations = calloc(rows, 1);
    unsigned char* frame = malloc((size_t)FRAME_H * FRAME_W * 3);
    char* text = malloc(TEXT_SIZE);
    vec_attach(&vec, observations, actions, floats ? ACTIONS_FLOAT32 : ACTIONS_INT32, rewards, terminals, truncations, low, high, 7);
    vec_reset(&vec, 7);

    uint64_t rng = rng_seed(12345, 0);
    double episodes = 0;
    for (long t = 0; t < steps; t++) {
        random_actions(&rng, actions, floats, num_actions, low, high);
        vec_step(&vec);
        for (size_t row = 0; row < rows; row++) {
            if (terminals[row] > 1 || truncations[row] > 1 || !isfinite(rewards[row])) {
                fprintf(stderr, "%s: step %ld row %zu: terminal %d truncation %d reward %g\n", PUFFER_ENV_NAME, t,
                        row, terminals[row], truncations[row], rewards[row]);
                return 1;
            }
        }
        if (sizeof(OBS_TYPE) == sizeof(float))
            for (size_t k = 0; k < rows * vec.obs_size; k++)
                if (!isfinite((float)observations[k])) {
                    fprintf(stderr, "%s: step %ld: observation %zu is not finite\n", PUFFER_ENV_NAME, t, k);
                    return 1;
                }
        if (t % 997 == 0) {
            int index = (int)(t / 997) % num_envs;
            c_render(&vec.envs[index], frame);
            int length = c_render_text(&vec.envs[index], text, TEXT_SIZE);
            if (length < 0 || length >= TEXT_SIZE || (int)strlen(text) != length) {
                fprintf(stderr, "%s: c_render_text returned %d for a %zu-char text\n", PUFFER_ENV_NAME, length,
                        strlen(text));
                return 1;
            }
            Log log;
            episodes += vec_log(&vec, &log);
        }
        if (t == steps / 2) vec_reset(&vec, -1);
    }
    Log log;
    episodes += vec_log(&vec, &log);
    printf("%-24s %ld steps x %d envs, %.0f episodes: ok\n", PUFFER_ENV_NAME, steps, num_envs, episodes);
    vec_close(&vec);
    free(observations); free(actions); free(rewards); free(terminals); free(truncations); free(frame); free(text);
    for (int p = 0; p < count && p < PUFFER_MAX_PARAMS; p++) free(pairs[p]);
    return 0;
}
