// password: enter a fixed sequence of `length` binary actions. The observation is the one-hot position in the
// sequence; a wrong action ends the episode with reward 0, the full sequence earns reward 1. A random policy succeeds
// with probability 2^-length: isolates exploration for a sparse reward. The password is the same for every env and
// seed, drawn from `password_seed`. Score: 1 if the whole password was entered.
#include "puffer.h"

#define FRAME_W 128
#define FRAME_H 128
#define PASSWORD_MAX 64

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X)   // no stats besides score, episode_return and episode_length
PUFFER_LOG(LOG_STATS)

typedef struct {
    PUFFER_ENV_FIELDS
    // observations: one-hot of the position, `length` floats
    int length;
    int password_seed;
    int position;
    unsigned char password[PASSWORD_MAX];
} Password;

int c_init(Password* env) {
    uint64_t stream = rng_seed((uint64_t)env->password_seed, 0);
    for (int i = 0; i < env->length; i++) env->password[i] = (unsigned char)rng_int(&stream, 2);
    return 0;
}

void c_reset(Password* env) {
    memset(env->observations, 0, (size_t)env->length * sizeof(float));
    env->position = 0;
    env->observations[0] = 1.0f;
}

void c_step(Password* env) {
    int correct = env->actions[0] == env->password[env->position];
    int finished = correct && env->position + 1 == env->length;
    env->rewards[0] = (float)finished;
    env->terminals[0] = (unsigned char)(finished || !correct);
    env->truncations[0] = 0;
    if (!correct || finished) {
        env->log.score += (float)finished;
        env->log.episode_return += (float)finished;
        env->log.episode_length += (float)(env->position + 1);
        env->log.n += 1;
        c_reset(env);
        return;
    }
    env->observations[env->position] = 0;
    env->position++;
    env->observations[env->position] = 1.0f;
}

void c_render(Password* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BACKGROUND);
    int width = FRAME_W / env->length;
    for (int i = 0; i < env->length; i++) {
        Color color = i < env->position ? COLOR_GREEN : i == env->position ? COLOR_YELLOW : COLOR_GRAY;
        draw_rect(canvas, i * width + 1, FRAME_H / 3, width - 2 > 1 ? width - 2 : 1, FRAME_H / 3, color);
    }
}

int c_render_text(Password* env, char* buffer, int size) {
    int length = 0;
    for (int i = 0; i < env->length; i++)
        text_append(buffer, size, &length, "%c", i < env->position ? '0' + env->password[i] : '_');
    text_append(buffer, size, &length, "\nposition %d of %d\n", env->position, env->length);
    return length;
}

void c_close(Password* env) {}
