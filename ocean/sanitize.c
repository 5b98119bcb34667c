// Sanitizer driver: runs one Ocean env through the plain-C core of vecenv.h (no Python) with random and out-of-range
// actions, resets, renders and log reads. Built by sanitize.sh with -fsanitize=address,undefined, once per env:
//   gcc ... -DPUFFER_NO_PYTHON -DBINDING='"ocean/<env>/binding.c"' -Iocean -Iocean/<env> ocean/sanitize.c
// Usage: sanitize [--fuzz TRIALS] STEPS NUM_ENVS int|float LOW,LOW,.. HIGH,HIGH,.. [key=value ...]
// LOW/HIGH are the inclusive action bounds per action element. Exit status 1 on any broken invariant.
// --fuzz: instead of one long run, TRIALS times: step a little, save the state, corrupt a few of its bytes, load it
// in a forked child and, if the load accepts it, render it and step it STEPS times. A load must refuse a bad state
// or leave one that steps cleanly; the counts are printed and any child that crashes or breaks an invariant fails.
#include BINDING

#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

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


typedef struct {
    Vec* vec;
    int floats;
    const double *low, *high;
    void* actions;
    float* rewards;
    unsigned char *terminals, *truncations, *frame;
    OBS_TYPE* observations;
    char* text;
} Harness;

// Render env `index` as a frame and as text; 0, or 1 with a message on a bad text length.
static int render_one(Harness* h, int index) {
    c_render(&h->vec->envs[index], h->frame);
    int length = c_render_text(&h->vec->envs[index], h->text, TEXT_SIZE);
    if (length < 0 || length >= TEXT_SIZE || (int)strlen(h->text) != length) {
        fprintf(stderr, "%s: c_render_text returned %d for a %zu-char text\n", PUFFER_ENV_NAME, length,
                strlen(h->text));
        return 1;
    }
    return 0;
}

// `steps` steps of random and wild actions, checking every row; renders and reads logs now and then; resets once
// halfway when `reset_halfway`. 0, or 1 with a message on a broken invariant. Adds finished episodes to *episodes.
static int run_steps(Harness* h, uint64_t* rng, long steps, int reset_halfway, double* episodes) {
    Vec* vec = h->vec;
    size_t rows = (size_t)vec->num_envs * vec->agents;
    for (long t = 0; t < steps; t++) {
        random_actions(rng, h->actions, h->floats, rows * ACT_SIZE, h->low, h->high);
        vec_step(vec);
        for (size_t row = 0; row < rows; row++) {
            if (h->terminals[row] > 1 || h->truncations[row] > 1 || !isfinite(h->rewards[row])) {
                fprintf(stderr, "%s: step %ld row %zu: terminal %d truncation %d reward %g\n", PUFFER_ENV_NAME, t,
                        row, h->terminals[row], h->truncations[row], h->rewards[row]);
                return 1;
            }
        }
        if (sizeof(OBS_TYPE) == sizeof(float))
            for (size_t k = 0; k < rows * vec->obs_size; k++)
                if (!isfinite((float)h->observations[k])) {
                    fprintf(stderr, "%s: step %ld: observation %zu is not finite\n", PUFFER_ENV_NAME, t, k);
                    return 1;
                }
        if (t % 997 == 0) {
            if (render_one(h, (int)(t / 997) % vec->num_envs)) return 1;
            Log log;
            *episodes += vec_log(vec, &log);
        }
        if (reset_halfway && t == steps / 2) vec_reset(vec, -1);
    }
    Log log;
    *episodes += vec_log(vec, &log);
    return 0;
}

// Overwrite a few bytes of a saved state: random bytes, or an aligned 4-byte slot set to a value that breaks sizes
// and indices (-1, INT_MAX, 1e8, ...) or to a bad float (NaN, infinity, 1e30), or 8 random bytes, or an int nudged
// by a little (off by one). Positions are drawn from [from, size).
static void corrupt(uint64_t* rng, unsigned char* state, size_t from, size_t size) {
    static const int32_t ints[] = {-1, -2147483647 - 1, 2147483647, 100000000, 1000000, 65536, 256, 255, 64, 63,
                                   -64, 31, 8, 7, 2, 1, 0};
    static const float floats[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 1e8f, -5.0f, 1e-30f};
    int edits = 1 + rng_int(rng, 3);
    for (int e = 0; e < edits; e++) {
        size_t at = from + (size_t)rng_int(rng, (int)(size - from));
        size_t slot = at & ~(size_t)3;
        int kind = rng_int(rng, 5);
        if (kind == 0 || slot < from || slot + 8 > size) {
            state[at] = (unsigned char)rng_int(rng, 256);
        } else if (kind == 1) {
            int32_t value = ints[rng_int(rng, (int)(sizeof ints / sizeof ints[0]))];
            memcpy(state + slot, &value, 4);
        } else if (kind == 2) {
            float value = floats[rng_int(rng, (int)(sizeof floats / sizeof floats[0]))];
            memcpy(state + slot, &value, 4);
        } else if (kind == 3) {
            uint64_t value = rng_next(rng);
            memcpy(state + slot, &value, 8);
        } else {
            int32_t value;
            memcpy(&value, state + slot, 4);
            value += rng_int(rng, 7) - 3;
            memcpy(state + slot, &value, 4);
        }
    }
}

// The --fuzz mode (see the top of this file). Returns the exit status: 0 when no child failed.
static int fuzz_restore(Harness* h, int trials, long steps) {
    Vec* vec = h->vec;
    size_t size = vec_state_size(vec);
    unsigned char* state = malloc(size);
    if (state == NULL) return 1;
    uint64_t rng = rng_seed(4242, 0);
    int refused = 0, clean = 0, failed = 0;
    for (int trial = 0; trial < trials; trial++) {
        double episodes = 0;
        if (run_steps(h, &rng, 1 + rng_int(&rng, 64), 0, &episodes)) return 1;
        vec_save_state(vec, state);
        // Most edits land past the header (format, sizes, parameters), where the game state is.
        size_t header = vec_state_header_size(vec);
        corrupt(&rng, state, rng_int(&rng, 8) == 0 || header >= size ? 0 : header, size);
        uint64_t child_rng = rng_next(&rng);
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) {
            if (failed > 0 && freopen("/dev/null", "w", stderr) == NULL) _exit(4);  // report the first failure only
            alarm(20);  // a loaded state that makes a step or a render run (nearly) forever fails too
            char error[256];
            if (vec_load_state(vec, state, size, error, sizeof error) != 0) _exit(3);
            for (int i = 0; i < vec->num_envs; i++)
                if (render_one(h, i)) _exit(1);
            _exit(run_steps(h, &child_rng, steps, 0, &episodes));
        }
        int status;
        if (waitpid(pid, &status, 0) != pid) { perror("waitpid"); return 1; }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
            refused++;
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            clean++;
        } else {
            failed++;
            if (failed == 1)
                fprintf(stderr, "%s: trial %d: the loaded state %s %d\n", PUFFER_ENV_NAME, trial,
                        WIFSIGNALED(status) ? "crashed with signal" : "failed with status",
                        WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        }
    }
    free(state);
    printf("%-24s restore fuzz: %d tried, %d refused, %d loaded and stepped cleanly, %d failed\n", PUFFER_ENV_NAME,
           trials, refused, clean, failed);
    return failed ? 1 : 0;
}

int main(int argc, char** argv) {
    int fuzz_trials = 0;
    if (argc > 2 && strcmp(argv[1], "--fuzz") == 0) {
        fuzz_trials = (int)strtol(argv[2], NULL, 10);
        argv += 2;
        argc -= 2;
    }
    if (argc < 6) {
        fprintf(stderr, "usage: %s [--fuzz TRIALS] STEPS NUM_ENVS int|float LOWS HIGHS [key=value ...]\n", argv[0]);
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
    if (num_envs < 1 || num_envs > PUFFER_MAX_ENVS || vec_configure(&vec, num_envs, &params)) return 1;
    size_t rows = (size_t)num_envs * vec.agents;
    size_t num_actions = rows * ACT_SIZE;
    OBS_TYPE* observations = calloc(rows * vec.obs_size, sizeof(OBS_TYPE));
    void* actions = calloc(num_actions, 4);
    float* rewards = calloc(rows, sizeof(float));
    unsigned char* terminals = calloc(rows, 1);
    unsigned char* truncations = calloc(rows, 1);
    unsigned char* frame = malloc((size_t)FRAME_H * FRAME_W * 3);
    char* text = malloc(TEXT_SIZE);
    if (!observations || !actions || !rewards || !terminals || !truncations || !frame || !text
            || vec_attach(&vec, observations, actions, floats ? ACTIONS_FLOAT32 : ACTIONS_INT32, rewards, terminals,
                          truncations, NULL, low, high, 7)) {
        fprintf(stderr, "%s: out of memory\n", PUFFER_ENV_NAME);
        return 1;
    }
    vec_reset(&vec, 7);

    Harness harness = {&vec, floats, low, high, actions, rewards, terminals, truncations, frame, observations, text};
    uint64_t rng = rng_seed(12345, 0);
    double episodes = 0;
    int status = fuzz_trials > 0 ? fuzz_restore(&harness, fuzz_trials, steps)
                                 : run_steps(&harness, &rng, steps, 1, &episodes);
    if (status == 0 && fuzz_trials == 0)
        printf("%-24s %ld steps x %d envs, %.0f episodes: ok\n", PUFFER_ENV_NAME, steps, num_envs, episodes);
    vec_close(&vec);
    free(observations); free(actions); free(rewards); free(terminals); free(truncations); free(frame); free(text);
    for (int p = 0; p < count && p < PUFFER_MAX_PARAMS; p++) free(pairs[p]);
    return status;
}
