// Breakout: bounce a ball off a paddle to knock out a wall of bricks (Atari-style rules and points).
//
// Geometry is fixed at compile time (6 rows x 18 columns of bricks) so the inner loop works on constants.
// Points per brick by row, top to bottom: 7 7 4 4 1 1, i.e. 432 for one wall. When the first wall is cleared it is
// rebuilt (at the next paddle hit, so the ball is never inside it) and clearing the second ends the game: a perfect
// game scores 864. A game also ends when the last ball is lost. The reward is the points / 7 (a top brick is worth
// 1): returns stay near the scale of the value head's outputs, while `score` keeps Atari-style points. An optional
// `paddle_reward` per paddle hit gives early learning a signal that comes before the bricks' delayed one.
//
// One agent step = `frameskip` physics frames with the same action. Collisions are found by looking up the at most
// 2x2 brick cells under the ball, and brick observations are written only when a brick changes, so a step costs
// the same whatever the number of bricks.
#pragma once
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "puffer.h"

#define BREAKOUT_ROWS 6
#define BREAKOUT_COLS 18
#define BREAKOUT_BRICKS (BREAKOUT_ROWS * BREAKOUT_COLS)
#define BREAKOUT_BRICK_W 32.0f
#define BREAKOUT_BRICK_H 12.0f
#define BREAKOUT_WALL_TOP 48.0f   // gap above the wall where the ball bounces around once it breaks through
#define BREAKOUT_WALL_BOTTOM (BREAKOUT_WALL_TOP + BREAKOUT_ROWS * BREAKOUT_BRICK_H)
#define BREAKOUT_FIELD_W (BREAKOUT_COLS * BREAKOUT_BRICK_W)   // 576
#define BREAKOUT_FIELD_H 360.0f
#define BREAKOUT_PADDLE_Y 336.0f
#define BREAKOUT_PADDLE_H 8.0f
#define BREAKOUT_PADDLE_W 64.0f
#define BREAKOUT_PADDLE_SPEED 10.0f   // pixels per frame
#define BREAKOUT_BALL 6.0f            // ball side; below the brick height, so a ball can never skip over a brick
#define BREAKOUT_SERVE_Y (BREAKOUT_WALL_BOTTOM + 40.0f)
#define BREAKOUT_SERVE_DELAY 60       // frames a new ball waits for FIRE before it is served anyway
#define BREAKOUT_SPEED_START 4.0f     // pixels per frame
#define BREAKOUT_SPEED_STEP 0.875f    // four speed-ups reach the maximum
#define BREAKOUT_SPEED_MAX (BREAKOUT_SPEED_START + 4 * BREAKOUT_SPEED_STEP)
#define BREAKOUT_MAX_ANGLE 0.785398f  // paddle edges send the ball out at 45 degrees from vertical
// The paddle middle sends it out at 15 degrees, never straight up: a vertical ball over a cleared column would
// bounce between the paddle and the back wall forever, and a policy that stands still would farm paddle rewards.
#define BREAKOUT_MIN_ANGLE 0.261799f
#define BREAKOUT_WALL_POINTS 432
#define BREAKOUT_REWARD_PER_POINT (1.0f / 7.0f)

#define BREAKOUT_NUM_ACTIONS 4        // 0 noop, 1 fire (serve the ball), 2 left, 3 right
#define BREAKOUT_OBS_HEADER 9
#define BREAKOUT_OBS_SIZE (BREAKOUT_OBS_HEADER + BREAKOUT_BRICKS)
#define FRAME_W ((int)BREAKOUT_FIELD_W)
#define FRAME_H ((int)BREAKOUT_FIELD_H)

enum { BREAKOUT_NOOP, BREAKOUT_FIRE, BREAKOUT_LEFT, BREAKOUT_RIGHT };

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X) \
    X(walls_cleared)
PUFFER_LOG(LOG_STATS)   // score: bricks points

typedef struct {
    PUFFER_ENV_FIELDS
    // observations: [BREAKOUT_OBS_SIZE], see write_header
    // parameters
    int frameskip;         // physics frames per agent step (each frame moves the paddle 10 px)
    int balls;             // balls per game
    int max_steps;         // agent steps before truncation (27000 x frameskip 4: the usual Atari cap)
    float paddle_reward;   // per paddle hit, on top of the bricks' (points / 7); 0: pure Atari-style rewards
    // game state
    unsigned char bricks[BREAKOUT_BRICKS];   // 1 while standing
    int bricks_left;
    int wall;              // 0 for the first wall, 1 for the rebuilt one
    int rebuild_pending;   // first wall cleared; rebuild at the next paddle hit
    int balls_left;
    int in_play;           // ball served and moving
    int serve_timer;       // frames the waiting ball has waited
    int paddle_hits;       // per ball: the 4th and 12th hits speed the ball up
    int hit_orange, hit_red;   // per ball: first contact with rows 2-3 / 0-1 speeds the ball up
    float speed;
    float paddle_bonus;    // paddle rewards collected during this step's frames
    float paddle_x, paddle_w;
    float ball_x, ball_y, ball_vx, ball_vy;
    int score;
    int steps;
    float episode_return;
} Breakout;

static inline int breakout_row_points(int row) {
    return row < 2 ? 7 : row < 4 ? 4 : 1;
}

static void breakout_write_header(Breakout* env) {
    float* obs = env->observations;
    obs[0] = (env->paddle_x + 0.5f * env->paddle_w) / BREAKOUT_FIELD_W;
    obs[1] = env->paddle_w / BREAKOUT_PADDLE_W;
    obs[2] = (env->ball_x + 0.5f * BREAKOUT_BALL) / BREAKOUT_FIELD_W;
    obs[3] = (env->ball_y + 0.5f * BREAKOUT_BALL) / BREAKOUT_FIELD_H;
    obs[4] = env->ball_vx / BREAKOUT_SPEED_MAX;
    obs[5] = env->ball_vy / BREAKOUT_SPEED_MAX;
    obs[6] = (float)env->in_play;
    obs[7] = (float)env->balls_left / (float)env->balls;
    obs[8] = (float)env->wall;
}

static void breakout_build_wall(Breakout* env) {
    memset(env->bricks, 1, sizeof(env->bricks));
    env->bricks_left = BREAKOUT_BRICKS;
    float* brick_obs = env->observations + BREAKOUT_OBS_HEADER;
    for (int i = 0; i < BREAKOUT_BRICKS; i++) brick_obs[i] = 1.0f;
}

// A new ball waits (not moving) at a random serve point that the agent can see, until the agent fires or
// BREAKOUT_SERVE_DELAY frames pass. The automatic serve removes a trap: a policy that stops firing would otherwise
// stall forever with no reward and no experience of the ball.
static void breakout_new_ball(Breakout* env) {
    env->in_play = 0;
    env->serve_timer = 0;
    env->paddle_hits = 0;
    env->hit_orange = 0;
    env->hit_red = 0;
    env->speed = BREAKOUT_SPEED_START;
    env->paddle_w = BREAKOUT_PADDLE_W;
    env->paddle_x = fminf(env->paddle_x, BREAKOUT_FIELD_W - env->paddle_w);
    env->ball_x = BREAKOUT_FIELD_W * (0.25f + 0.5f * rng_float(&env->rng));
    env->ball_y = BREAKOUT_SERVE_Y;
    env->ball_vx = 0.0f;
    env->ball_vy = 0.0f;
}

static void breakout_new_game(Breakout* env) {
    breakout_build_wall(env);
    env->wall = 0;
    env->rebuild_pending = 0;
    env->balls_left = env->balls;
    env->score = 0;
    env->steps = 0;
    env->episode_return = 0.0f;
    env->paddle_x = 0.5f * (BREAKOUT_FIELD_W - BREAKOUT_PADDLE_W);
    breakout_new_ball(env);
}

static void breakout_speed_up(Breakout* env) {
    env->speed = fminf(env->speed + BREAKOUT_SPEED_STEP, BREAKOUT_SPEED_MAX);
}

// Knocks out the first standing brick under a ball placed at (x, y); returns its points (0: no brick).
static int breakout_hit_brick(Breakout* env, float x, float y) {
    if (y >= BREAKOUT_WALL_BOTTOM || y + BREAKOUT_BALL <= BREAKOUT_WALL_TOP) return 0;
    int row0 = (int)((y - BREAKOUT_WALL_TOP) / BREAKOUT_BRICK_H);
    int row1 = (int)((y + BREAKOUT_BALL - BREAKOUT_WALL_TOP) / BREAKOUT_BRICK_H);
    int col0 = (int)(x / BREAKOUT_BRICK_W);
    int col1 = (int)((x + BREAKOUT_BALL) / BREAKOUT_BRICK_W);
    // The ball may stick out above or beside the wall; (int) truncation already maps a small overhang to row 0.
    if (row1 >= BREAKOUT_ROWS) row1 = BREAKOUT_ROWS - 1;
    if (col1 >= BREAKOUT_COLS) col1 = BREAKOUT_COLS - 1;
    for (int row = row0; row <= row1; row++) {
        for (int col = col0; col <= col1; col++) {
            int i = row * BREAKOUT_COLS + col;
            if (!env->bricks[i]) continue;
            env->bricks[i] = 0;
            env->bricks_left--;
            env->observations[BREAKOUT_OBS_HEADER + i] = 0.0f;
            if (row < 2 && !env->hit_red) { env->hit_red = 1; breakout_speed_up(env); }
            if (row >= 2 && row < 4 && !env->hit_orange) { env->hit_orange = 1; breakout_speed_up(env); }
            if (env->bricks_left == 0) env->rebuild_pending = 1;
            return breakout_row_points(row);
        }
    }
    return 0;
}

static void breakout_bounce_off_paddle(Breakout* env) {
    float center = env->ball_x + 0.5f * BREAKOUT_BALL;
    float offset = (center - env->paddle_x) / env->paddle_w;   // 0 at the left edge, 1 at the right edge
    offset = fminf(fmaxf(offset, 0.0f), 1.0f);
    env->paddle_hits++;
    env->paddle_bonus += env->paddle_reward;
    if (env->paddle_hits == 4 || env->paddle_hits == 12) breakout_speed_up(env);
    // Left half: out to the left, right half: to the right, steeper towards the edges. The exact middle keeps
    // the ball's horizontal direction.
    float side = 2.0f * offset - 1.0f;
    float direction = side < 0.0f || (side == 0.0f && env->ball_vx < 0.0f) ? -1.0f : 1.0f;
    float angle = direction * (BREAKOUT_MIN_ANGLE + fabsf(side) * (BREAKOUT_MAX_ANGLE - BREAKOUT_MIN_ANGLE));
    env->ball_vx = env->speed * sinf(angle);
    env->ball_vy = -env->speed * cosf(angle);
    env->ball_y = BREAKOUT_PADDLE_Y - BREAKOUT_BALL;
    if (env->rebuild_pending && env->wall == 0) {
        env->rebuild_pending = 0;
        env->wall = 1;
        breakout_build_wall(env);
    }
}

// One physics frame. Returns 1 when the game is over. Adds brick points to *points.
static int breakout_frame(Breakout* env, int action, int* points) {
    if (action == BREAKOUT_LEFT) {
        env->paddle_x = fmaxf(env->paddle_x - BREAKOUT_PADDLE_SPEED, 0.0f);
    } else if (action == BREAKOUT_RIGHT) {
        env->paddle_x = fminf(env->paddle_x + BREAKOUT_PADDLE_SPEED, BREAKOUT_FIELD_W - env->paddle_w);
    }
    if (!env->in_play) {
        if (action != BREAKOUT_FIRE && ++env->serve_timer < BREAKOUT_SERVE_DELAY) return 0;
        float angle = (rng_float(&env->rng) - 0.5f) * BREAKOUT_MAX_ANGLE;
        env->in_play = 1;
        env->ball_vx = env->speed * sinf(angle);
        env->ball_vy = env->speed * cosf(angle);
    }
    // Move along x then along y; a brick met on an axis reverses that axis and the ball stays put on it, so the
    // ball never overlaps a standing brick.
    float x = env->ball_x + env->ball_vx;
    if (x < 0.0f) {
        x = -x;
        env->ball_vx = -env->ball_vx;
    } else if (x > BREAKOUT_FIELD_W - BREAKOUT_BALL) {
        x = 2.0f * (BREAKOUT_FIELD_W - BREAKOUT_BALL) - x;
        env->ball_vx = -env->ball_vx;
    }
    int gained = breakout_hit_brick(env, x, env->ball_y);
    if (gained) {
        env->ball_vx = -env->ball_vx;
    } else {
        env->ball_x = x;
    }
    float y = env->ball_y + env->ball_vy;
    if (y < 0.0f) {
        y = -y;
        env->ball_vy = -env->ball_vy;
        // Breaking through to the back wall halves the paddle, as in Atari Breakout.
        if (env->paddle_w == BREAKOUT_PADDLE_W) {
            env->paddle_w = 0.5f * BREAKOUT_PADDLE_W;
            env->paddle_x += 0.25f * BREAKOUT_PADDLE_W;
        }
    }
    int gained_y = breakout_hit_brick(env, env->ball_x, y);
    if (gained_y) {
        env->ball_vy = -env->ball_vy;
    } else {
        float bottom_before = env->ball_y + BREAKOUT_BALL;
        env->ball_y = y;
        if (env->ball_vy > 0.0f && bottom_before <= BREAKOUT_PADDLE_Y && y + BREAKOUT_BALL >= BREAKOUT_PADDLE_Y
                && env->ball_x + BREAKOUT_BALL > env->paddle_x && env->ball_x < env->paddle_x + env->paddle_w) {
            breakout_bounce_off_paddle(env);
        }
    }
    gained += gained_y;
    *points += gained;
    env->score += gained;
    if (env->rebuild_pending && env->wall == 1) return 1;   // second wall cleared: perfect game
    if (env->ball_y > BREAKOUT_FIELD_H - BREAKOUT_BALL) {   // fell out of the bottom
        env->balls_left--;
        if (env->balls_left == 0) return 1;
        breakout_new_ball(env);
    }
    return 0;
}

int c_init(Breakout* env) {
    (void)env;   // fixed geometry: nothing to allocate
    return 0;
}

void c_reset(Breakout* env) {
    breakout_new_game(env);
    breakout_write_header(env);
    env->rewards[0] = 0.0f;
    env->terminals[0] = 0;
    env->truncations[0] = 0;
}

void c_step(Breakout* env) {
    int action = env->actions[0];
    int points = 0;
    int over = 0;
    for (int f = 0; f < env->frameskip && !over; f++) over = breakout_frame(env, action, &points);
    env->steps++;
    float reward = (float)points * BREAKOUT_REWARD_PER_POINT + env->paddle_bonus;
    env->paddle_bonus = 0.0f;
    env->rewards[0] = reward;
    env->episode_return += reward;
    int truncated = !over && env->steps >= env->max_steps;
    env->terminals[0] = (unsigned char)over;
    env->truncations[0] = (unsigned char)truncated;
    if (over || truncated) {
        env->log.score += (float)env->score;
        env->log.episode_return += env->episode_return;
        env->log.episode_length += (float)env->steps;
        env->log.walls_cleared += (float)(env->score / BREAKOUT_WALL_POINTS);
        env->log.n += 1.0f;
        breakout_new_game(env);
    }
    breakout_write_header(env);
}

void c_render(Breakout* env, unsigned char* frame) {
    static const Color row_colors[BREAKOUT_ROWS] = {
        {200, 72, 72}, {198, 108, 58}, {180, 122, 48}, {162, 162, 42}, {72, 160, 72}, {66, 72, 200}};
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BLACK);
    for (int i = 0; i < BREAKOUT_BRICKS; i++) {
        if (!env->bricks[i]) continue;
        int row = i / BREAKOUT_COLS, col = i % BREAKOUT_COLS;
        draw_rect(canvas, (int)(col * BREAKOUT_BRICK_W) + 1, (int)(BREAKOUT_WALL_TOP + row * BREAKOUT_BRICK_H) + 1,
                  (int)BREAKOUT_BRICK_W - 2, (int)BREAKOUT_BRICK_H - 2, row_colors[row]);
    }
    draw_rect(canvas, (int)env->paddle_x, (int)BREAKOUT_PADDLE_Y, (int)env->paddle_w, (int)BREAKOUT_PADDLE_H,
              COLOR_RED);
    draw_rect(canvas, (int)env->ball_x, (int)env->ball_y, (int)BREAKOUT_BALL, (int)BREAKOUT_BALL, COLOR_WHITE);
    char text[48];
    snprintf(text, sizeof text, "%d  BALLS %d", env->score, env->balls_left);
    draw_text(canvas, 8, 8, text, 3, COLOR_GRAY);
}

// Text picture: one character per 16x12 pixels, so each brick is "##" on its own line.
int c_render_text(Breakout* env, char* buffer, int size) {
    enum { COLS = (int)(BREAKOUT_FIELD_W / 16), LINES = (int)(BREAKOUT_FIELD_H / 12) };
    char grid[LINES][COLS];
    memset(grid, ' ', sizeof(grid));
    for (int i = 0; i < BREAKOUT_BRICKS; i++) {
        if (!env->bricks[i]) continue;
        int line = (int)(BREAKOUT_WALL_TOP / 12) + i / BREAKOUT_COLS, col = 2 * (i % BREAKOUT_COLS);
        grid[line][col] = grid[line][col + 1] = '#';
    }
    int paddle_line = (int)(BREAKOUT_PADDLE_Y / 12);
    for (int col = (int)(env->paddle_x / 16); col < COLS && col * 16 < env->paddle_x + env->paddle_w; col++) {
        grid[paddle_line][col] = '=';
    }
    int ball_line = (int)((env->ball_y + 0.5f * BREAKOUT_BALL) / 12);
    int ball_col = (int)((env->ball_x + 0.5f * BREAKOUT_BALL) / 16);
    if (ball_line >= 0 && ball_line < LINES && ball_col >= 0 && ball_col < COLS) grid[ball_line][ball_col] = 'o';
    int length = 0;
    text_append(buffer, size, &length, "score %d  balls %d  wall %d\n", env->score, env->balls_left, env->wall + 1);
    for (int line = 0; line < LINES; line++) text_append(buffer, size, &length, "|%.*s|\n", COLS, grid[line]);
    return length;
}

void c_close(Breakout* env) {
    (void)env;
}
