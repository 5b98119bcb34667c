// Pong against a scripted opponent that follows the ball at a limited speed.
//
// The agent's paddle is on the right, the opponent's on the left. Where the ball meets a paddle sets its new
// vertical speed (edges send it out steeply), and every return makes it a little faster. The opponent moves
// toward the ball's height at `opponent_speed` pixels per frame, slower than a steep ball, so angled shots beat
// it. First to `points_to_win` ends the game; reward is +1 per point won and -1 per point lost.
//
// With opponent = 1 (agent mode, see "Two-player games" in ocean/README.md) a second agent row moves the left paddle
// at the agent's speed: row 0 plays the right paddle, row 1 the left one and sees the field mirrored (its own paddle
// first, x measured from its own side, points swapped), and each point pays +1 to the row that won it and -1 to
// the other.
#pragma once
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "puffer.h"

#define PONG_W 200.0f
#define PONG_H 150.0f
#define PONG_PADDLE_W 4.0f
#define PONG_PADDLE_H 20.0f
#define PONG_AGENT_X (PONG_W - 8.0f)           // left edge of the agent's paddle
#define PONG_OPPONENT_X 4.0f                   // left edge of the opponent's paddle
#define PONG_BALL 4.0f
#define PONG_PADDLE_SPEED 3.0f                 // pixels per frame
#define PONG_SERVE_VX 2.5f
#define PONG_MAX_VX 6.0f
#define PONG_VX_GAIN 1.06f                     // per return
#define PONG_MAX_VY 4.0f                       // at a paddle edge; below the paddle height, so no tunnelling

#define PONG_NUM_ACTIONS 3                     // 0 stay, 1 up, 2 down
#define PONG_OBS_SIZE 8
#define FRAME_W ((int)PONG_W)
#define FRAME_H ((int)PONG_H)

enum { PONG_STAY, PONG_UP, PONG_DOWN };

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X) \
    X(wins) /* 1 when the agent reached points_to_win first */
PUFFER_LOG(LOG_STATS)   // score: points won minus points lost (-points_to_win .. points_to_win)

typedef struct {
    PUFFER_ENV_FIELDS
    // parameters
    int opponent;          // 0 scripted, 1 agent (a second agent row moves the left paddle)
    int frameskip;
    int points_to_win;
    float opponent_speed;  // pixels per frame (a steep ball moves up to PONG_MAX_VY = 4)
    int max_steps;
    // game state
    float agent_y, opponent_y;   // top edges of the paddles
    float ball_x, ball_y, ball_vx, ball_vy;
    int agent_points, opponent_points;
    int steps;
    float episode_return;
} Pong;

// Serve from the middle toward a random side at a random gentle angle.
static void pong_serve(Pong* env) {
    env->ball_x = 0.5f * (PONG_W - PONG_BALL);
    env->ball_y = (0.25f + 0.5f * rng_float(&env->rng)) * (PONG_H - PONG_BALL);
    env->ball_vx = (rng_float(&env->rng) < 0.5f) ? -PONG_SERVE_VX : PONG_SERVE_VX;
    env->ball_vy = (2.0f * rng_float(&env->rng) - 1.0f) * 0.5f * PONG_MAX_VY;
}

static void pong_new_game(Pong* env) {
    env->agent_y = env->opponent_y = 0.5f * (PONG_H - PONG_PADDLE_H);
    env->agent_points = env->opponent_points = 0;
    env->steps = 0;
    env->episode_return = 0.0f;
    pong_serve(env);
}

static void pong_write_obs(Pong* env) {
    float* obs = env->observations;
    obs[0] = (env->agent_y + 0.5f * PONG_PADDLE_H) / PONG_H;
    obs[1] = (env->opponent_y + 0.5f * PONG_PADDLE_H) / PONG_H;
    obs[2] = (env->ball_x + 0.5f * PONG_BALL) / PONG_W;
    obs[3] = (env->ball_y + 0.5f * PONG_BALL) / PONG_H;
    obs[4] = env->ball_vx / PONG_MAX_VX;
    obs[5] = env->ball_vy / PONG_MAX_VY;
    obs[6] = (float)env->agent_points / (float)env->points_to_win;
    obs[7] = (float)env->opponent_points / (float)env->points_to_win;
    if (!env->opponent) return;
    // Row 1 sees the mirror image: the field flipped left-right, so its paddle is on the right as row 0's is.
    float* mirror = obs + PONG_OBS_SIZE;
    mirror[0] = obs[1];
    mirror[1] = obs[0];
    mirror[2] = 1.0f - obs[2];
    mirror[3] = obs[3];
    mirror[4] = -obs[4];
    mirror[5] = obs[5];
    mirror[6] = obs[7];
    mirror[7] = obs[6];
}

static inline float pong_clamp_paddle(float y) {
    return fminf(fmaxf(y, 0.0f), PONG_H - PONG_PADDLE_H);
}

// Sends the ball back if it overlaps the paddle whose top edge is paddle_y; direction is -1 (toward the left).
static void pong_return(Pong* env, float paddle_y, float direction) {
    float offset = (env->ball_y + 0.5f * PONG_BALL - paddle_y) / PONG_PADDLE_H;   // 0 top edge .. 1 bottom edge
    if (offset < -0.1f || offset > 1.1f) return;   // a little grace past the corners
    offset = fminf(fmaxf(offset, 0.0f), 1.0f);
    float speed = fminf(fabsf(env->ball_vx) * PONG_VX_GAIN, PONG_MAX_VX);
    env->ball_vx = direction * speed;
    env->ball_vy = (2.0f * offset - 1.0f) * PONG_MAX_VY;
    env->ball_x = direction < 0 ? PONG_AGENT_X - PONG_BALL : PONG_OPPONENT_X + PONG_PADDLE_W;
}

// One physics frame. Returns +1 / -1 when the agent wins / loses a point, else 0. `opponent_action` moves the left
// paddle in agent mode; the scripted one follows the ball otherwise.
static int pong_frame(Pong* env, int action, int opponent_action) {
    if (action == PONG_UP) env->agent_y = pong_clamp_paddle(env->agent_y - PONG_PADDLE_SPEED);
    else if (action == PONG_DOWN) env->agent_y = pong_clamp_paddle(env->agent_y + PONG_PADDLE_SPEED);

    if (env->opponent) {
        if (opponent_action == PONG_UP) env->opponent_y = pong_clamp_paddle(env->opponent_y - PONG_PADDLE_SPEED);
        else if (opponent_action == PONG_DOWN)
            env->opponent_y = pong_clamp_paddle(env->opponent_y + PONG_PADDLE_SPEED);
    } else {
        float target = env->ball_y + 0.5f * PONG_BALL - 0.5f * PONG_PADDLE_H;
        float move = fminf(fmaxf(target - env->opponent_y, -env->opponent_speed), env->opponent_speed);
        env->opponent_y = pong_clamp_paddle(env->opponent_y + move);
    }

    float x_before = env->ball_x;
    env->ball_x += env->ball_vx;
    env->ball_y += env->ball_vy;
    if (env->ball_y < 0.0f) {
        env->ball_y = -env->ball_y;
        env->ball_vy = -env->ball_vy;
    } else if (env->ball_y > PONG_H - PONG_BALL) {
        env->ball_y = 2.0f * (PONG_H - PONG_BALL) - env->ball_y;
        env->ball_vy = -env->ball_vy;
    }
    // A paddle returns the ball in the frame where the ball's leading edge crosses the paddle's face.
    if (env->ball_vx > 0.0f && x_before + PONG_BALL <= PONG_AGENT_X && env->ball_x + PONG_BALL > PONG_AGENT_X) {
        pong_return(env, env->agent_y, -1.0f);
    } else if (env->ball_vx < 0.0f && x_before >= PONG_OPPONENT_X + PONG_PADDLE_W
               && env->ball_x < PONG_OPPONENT_X + PONG_PADDLE_W) {
        pong_return(env, env->opponent_y, 1.0f);
    }
    if (env->ball_x > PONG_W) return -1;
    if (env->ball_x + PONG_BALL < 0.0f) return 1;
    return 0;
}

int c_init(Pong* env) {
    (void)env;   // nothing to allocate
    return 0;
}

void c_reset(Pong* env) {
    pong_new_game(env);
    pong_write_obs(env);
}  // the binding has already cleared rewards, terminals and truncations (vec_reset)

void c_step(Pong* env) {
    int action = env->actions[0];
    int opponent_action = env->opponent ? env->actions[1] : PONG_STAY;
    int point = 0;
    for (int f = 0; f < env->frameskip && point == 0; f++) point = pong_frame(env, action, opponent_action);
    if (point > 0) env->agent_points++;
    if (point < 0) env->opponent_points++;
    if (point != 0) pong_serve(env);
    env->steps++;
    env->rewards[0] = (float)point;
    env->episode_return += (float)point;
    int over = env->agent_points >= env->points_to_win || env->opponent_points >= env->points_to_win;
    int truncated = !over && env->steps >= env->max_steps;
    env->terminals[0] = (unsigned char)over;
    env->truncations[0] = (unsigned char)truncated;
    if (env->opponent) {   // zero-sum: the left paddle's row wins what row 0 loses
        env->rewards[1] = 0.0f - (float)point;
        env->terminals[1] = (unsigned char)over;
        env->truncations[1] = (unsigned char)truncated;
    }
    if (over || truncated) {
        env->log.score += (float)(env->agent_points - env->opponent_points);
        env->log.episode_return += env->episode_return;
        env->log.episode_length += (float)env->steps;
        env->log.wins += (float)(env->agent_points >= env->points_to_win);
        env->log.n += 1.0f;
        pong_new_game(env);
    }
    pong_write_obs(env);
}

void c_render(Pong* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BLACK);
    for (int y = 0; y < FRAME_H; y += 8) draw_rect(canvas, FRAME_W / 2, y, 1, 4, COLOR_GRAY);
    char text[16];
    snprintf(text, sizeof text, "%d", env->opponent_points);
    draw_text(canvas, FRAME_W / 2 - 24, 4, text, 2, COLOR_GRAY);
    snprintf(text, sizeof text, "%d", env->agent_points);
    draw_text(canvas, FRAME_W / 2 + 12, 4, text, 2, COLOR_GRAY);
    draw_rect(canvas, (int)PONG_AGENT_X, (int)env->agent_y, (int)PONG_PADDLE_W, (int)PONG_PADDLE_H, COLOR_GREEN);
    draw_rect(canvas, (int)PONG_OPPONENT_X, (int)env->opponent_y, (int)PONG_PADDLE_W, (int)PONG_PADDLE_H, COLOR_RED);
    draw_rect(canvas, (int)env->ball_x, (int)env->ball_y, (int)PONG_BALL, (int)PONG_BALL, COLOR_WHITE);
}

// Text picture: one character per 5x10 pixels; the agent's paddle is 'A', the opponent's 'B'.
int c_render_text(Pong* env, char* buffer, int size) {
    enum { COLS = (int)(PONG_W / 5), LINES = (int)(PONG_H / 10) };
    char grid[LINES][COLS];
    memset(grid, ' ', sizeof(grid));
    for (int line = 0; line < LINES; line++) {
        float y = line * 10.0f + 5.0f;
        if (y >= env->agent_y && y < env->agent_y + PONG_PADDLE_H) grid[line][(int)(PONG_AGENT_X / 5)] = 'A';
        if (y >= env->opponent_y && y < env->opponent_y + PONG_PADDLE_H) grid[line][(int)(PONG_OPPONENT_X / 5)] = 'B';
    }
    int line = (int)((env->ball_y + 0.5f * PONG_BALL) / 10), col = (int)((env->ball_x + 0.5f * PONG_BALL) / 5);
    if (line >= 0 && line < LINES && col >= 0 && col < COLS) grid[line][col] = 'o';
    int length = 0;
    text_append(buffer, size, &length, "opponent %d  agent %d\n", env->opponent_points, env->agent_points);
    for (int l = 0; l < LINES; l++) text_append(buffer, size, &length, "|%.*s|\n", COLS, grid[l]);
    return length;
}

void c_close(Pong* env) {
    (void)env;
}
