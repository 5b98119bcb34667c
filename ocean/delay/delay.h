// delay: credit assignment across a gap. The first observation shows a cue, one of `num_cues` values as a one-hot;
// `delay` blank observations follow; then one with the query flag set asks for the cue. Only the action taken on the
// query counts: reward 1 if it is the cue's index, else 0, and the episode ends (delay + 2 steps). Score: 1 for a
// right answer, so its mean is the success rate; random answers score 1 / num_cues. Needs a recurrent policy.
#include "puffer.h"

#define FRAME_W 128
#define FRAME_H 128

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X)   // no stats besides score, episode_return and episode_length
PUFFER_LOG(LOG_STATS)   // score: 1 for a right answer

typedef struct {
    PUFFER_ENV_FIELDS
    // observations: num_cues floats (the cue's one-hot on the first step, else 0), then the query flag
    int delay;         // blank steps between the cue and the query
    int num_cues;
    int cue;           // 0 .. num_cues - 1
    int tick;          // steps taken this episode: the cue shows at 0, the query at delay + 1
    int last_correct;  // the previous episode's answer: 1 right, 0 wrong, -1 none yet (for rendering)
} Delay;

int c_init(Delay* env) {
    env->last_correct = -1;
    return 0;
}

static void delay_new_episode(Delay* env) {
    env->cue = rng_int(&env->rng, env->num_cues);
    env->tick = 0;
    memset(env->observations, 0, (size_t)(env->num_cues + 1) * sizeof(float));
    env->observations[env->cue] = 1.0f;
}

void c_reset(Delay* env) {
    env->last_correct = -1;
    delay_new_episode(env);
}

void c_step(Delay* env) {
    env->tick++;
    env->truncations[0] = 0;
    if (env->tick <= env->delay + 1) {   // blank steps, then the query: the actions on them are ignored
        env->rewards[0] = 0.0f;
        env->terminals[0] = 0;
        env->observations[env->cue] = 0.0f;
        env->observations[env->num_cues] = env->tick == env->delay + 1 ? 1.0f : 0.0f;
        return;
    }
    int correct = env->actions[0] == env->cue;
    env->rewards[0] = (float)correct;
    env->terminals[0] = 1;
    env->log.score += (float)correct;
    env->log.episode_return += (float)correct;
    env->log.episode_length += (float)env->tick;
    env->log.n += 1.0f;
    env->last_correct = correct;
    delay_new_episode(env);
}

// The cue (its index and a colour), a bar filling up to the query (yellow once it is asked) and the last answer.
void c_render(Delay* env, unsigned char* frame) {
    static const Color colors[4] = {COLOR_RED, COLOR_GREEN, COLOR_BLUE, COLOR_PURPLE};
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BACKGROUND);
    char text[16];
    snprintf(text, sizeof text, "CUE %d", env->cue);
    draw_rect(canvas, 8, 8, 24, 24, colors[env->cue % 4]);
    draw_text(canvas, 40, 12, text, 3, COLOR_WHITE);
    int filled = (FRAME_W - 16) * env->tick / (env->delay + 1);
    draw_rect(canvas, 8, 56, FRAME_W - 16, 16, COLOR_GRAY);
    draw_rect(canvas, 8, 56, filled, 16, env->tick == env->delay + 1 ? COLOR_YELLOW : COLOR_CYAN);
    if (env->last_correct >= 0)
        draw_text(canvas, 8, 96, env->last_correct ? "RIGHT" : "WRONG", 3, env->last_correct ? COLOR_GREEN : COLOR_RED);
}

int c_render_text(Delay* env, char* buffer, int size) {
    int length = 0;
    text_append(buffer, size, &length, "cue %d of %d, step %d, query at step %d\n", env->cue, env->num_cues,
                env->tick, env->delay + 1);
    if (env->last_correct >= 0)
        text_append(buffer, size, &length, "last answer %s\n", env->last_correct ? "right" : "wrong");
    return length;
}

void c_close(Delay* env) { (void)env; }
