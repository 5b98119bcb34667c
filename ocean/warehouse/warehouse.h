// The multi-robot warehouse (RWARE, Christianos et al. 2020; Papoudakis et al. 2021), from its published rules.
//
// Layout: `shelf_columns` blocks of 2 shelf columns, `shelf_rows` blocks of `column_height` shelf rows, with
// one-cell corridors ("highways") around every block; the bottom row is a corridor holding the two goal cells in
// its middle, and the two middle columns just above it are kept free for queuing. Width 3 * shelf_columns + 1,
// height (column_height + 1) * shelf_rows + 2 (3, 8, 1 gives RWARE's "tiny" 10 x 11). Every shelf cell starts
// with a shelf.
//
// Robots stand on a cell facing up, left, down or right: 0 noop, 1 forward, 2 turn left, 3 turn right, 4 load or
// unload. An empty robot may drive under standing shelves; a loaded one may not (its move is cancelled). Loading
// lifts the shelf the robot is under; unloading puts it down, only on a shelf cell (not a corridor). `request_queue`
// shelves are requested at any time: a robot standing on a goal cell with a requested shelf delivers it (+1), and
// a shelf that is not requested, drawn uniformly, takes its place in the queue. The robot must then carry the
// shelf back to a free shelf cell to be free again. Episodes last `max_steps` steps (a truncation). Optional
// shaping, not part of RWARE (off by default): `reward_pickup` for lifting a requested shelf, once per request.
//
// Simultaneous moves, as RWARE resolves them: every robot points at the cell it wants (its own cell if it does not
// move). These arrows form chains. A chain ending at an empty cell lets only its longest branch move (the robot
// that also unblocks the most others; ties go to the lowest robot index); a closed loop of three or more robots
// all move; two robots trying to swap cells, and everything queued behind a robot that stays, do not move.
#pragma once
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "puffer.h"

#define WAREHOUSE_ROBOTS 4          // robots per warehouse: a compile-time constant (agent rows per C env)
#define WAREHOUSE_SELF 10            // observation: own features, then 6 per sensed cell
#define WAREHOUSE_CELL_FEATURES 6
#define FRAME_W 320
#define FRAME_H 352

enum { WH_UP, WH_LEFT, WH_DOWN, WH_RIGHT };
enum { WH_NOOP, WH_FORWARD, WH_TURN_LEFT, WH_TURN_RIGHT, WH_TOGGLE, WH_NUM_ACTIONS };

#define OBS_TYPE float
#define ACT_TYPE int
#define LOG_STATS(X) \
    X(deliveries)   /* shelves this robot delivered */ \
    X(carrying)     /* 1 if the robot held a shelf when the episode ended */
PUFFER_LOG(LOG_STATS)   // score: shelves the whole team delivered in the episode (every robot reports it)

static const int WH_DX[4] = {0, -1, 0, 1};
static const int WH_DY[4] = {-1, 0, 1, 0};

typedef struct {
    PUFFER_ENV_FIELDS
    // parameters
    int shelf_columns, column_height, shelf_rows;
    int request_queue;
    int sensor_range;
    int max_steps;
    int global_reward;        // 0: the delivering robot gets the +1; 1: every robot does
    float reward_pickup;      // shaping (not in RWARE): paid once per request for lifting the requested shelf
    // derived by c_init
    int width, height, cells, num_shelves;
    int goal[2];              // the two goal cells
    unsigned char* highway;   // per cell: 1 corridor, 0 shelf cell
    // state
    int robot_cell[WAREHOUSE_ROBOTS];
    int robot_dir[WAREHOUSE_ROBOTS];
    int robot_load[WAREHOUSE_ROBOTS];         // shelf index + 1, or 0
    int robot_deliveries[WAREHOUSE_ROBOTS];
    float robot_return[WAREHOUSE_ROBOTS];
    int* shelf_cell;          // per shelf: its cell (a carried shelf is at its robot's cell)
    int* cell_shelf;          // per cell: shelf index + 1, or 0
    unsigned char* requested; // per shelf: 1 if in the request queue
    unsigned char* picked;    // per shelf: its pickup reward was paid since it was last requested
    int* requests;            // the request queue: request_queue shelf indices
    int deliveries;
    int steps;
    // scratch, rewritten every step before it is read
    int* cell_robot;          // per cell: robot index + 1, or 0 (kept all zeros between uses)
    int* best;                // per cell: the robot with the longest chain into it, or -1 (kept all -1)
    int target[WAREHOUSE_ROBOTS], next[WAREHOUSE_ROBOTS], depth[WAREHOUSE_ROBOTS], sink[WAREHOUSE_ROBOTS];
    int moves[WAREHOUSE_ROBOTS];
} Warehouse;

static inline int warehouse_width(const Warehouse* env) { return 3 * env->shelf_columns + 1; }
static inline int warehouse_height(const Warehouse* env) { return (env->column_height + 1) * env->shelf_rows + 2; }

static inline int warehouse_is_highway(const Warehouse* env, int x, int y) {
    int w = warehouse_width(env), h = warehouse_height(env);
    return x % 3 == 0 || y % (env->column_height + 1) == 0 || y == h - 1
           || (y > h - (env->column_height + 3) && (x == w / 2 - 1 || x == w / 2));
}

// Shelf cells of a layout (for the request_queue bound, before c_init runs).
static inline int warehouse_count_shelves(const Warehouse* env) {
    int count = 0, w = warehouse_width(env), h = warehouse_height(env);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) count += !warehouse_is_highway(env, x, y);
    return count;
}

static inline int warehouse_obs_size(const Warehouse* env) {
    int side = 2 * env->sensor_range + 1;
    return WAREHOUSE_SELF + WAREHOUSE_CELL_FEATURES * side * side;
}

// ---------------------------------------------------------------------------------------------------------------
// Observation of robot i (float32, all in [0, 1]):
//   0 x / (width - 1), 1 y / (height - 1), 2-5 heading one-hot (up, left, down, right), 6 carrying a shelf,
//   7 carrying a requested shelf, 8 on a corridor cell, 9 on a goal cell;
//   then for each cell of the (2 * sensor_range + 1)^2 square around the robot, row-major from the top-left (not
//   rotated with the heading): outside the warehouse, goal cell, a robot, a loaded robot, a shelf, a requested
//   shelf (a carried shelf counts, at its robot's cell).
static void warehouse_observe(Warehouse* env) {
    int size = warehouse_obs_size(env);
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++) env->cell_robot[env->robot_cell[i]] = i + 1;
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++) {
        float* obs = env->observations + (size_t)i * size;
        int cell = env->robot_cell[i], x = cell % env->width, y = cell / env->width, load = env->robot_load[i];
        obs[0] = (float)x / (float)(env->width - 1);
        obs[1] = (float)y / (float)(env->height - 1);
        for (int d = 0; d < 4; d++) obs[2 + d] = (float)(env->robot_dir[i] == d);
        obs[6] = (float)(load != 0);
        obs[7] = (float)(load != 0 && env->requested[load - 1]);
        obs[8] = (float)env->highway[cell];
        obs[9] = (float)(cell == env->goal[0] || cell == env->goal[1]);
        float* out = obs + WAREHOUSE_SELF;
        for (int dy = -env->sensor_range; dy <= env->sensor_range; dy++)
            for (int dx = -env->sensor_range; dx <= env->sensor_range; dx++, out += WAREHOUSE_CELL_FEATURES) {
                int cx = x + dx, cy = y + dy;
                if (cx < 0 || cy < 0 || cx >= env->width || cy >= env->height) {
                    out[0] = 1.0f;
                    out[1] = out[2] = out[3] = out[4] = out[5] = 0.0f;
                    continue;
                }
                int c = cy * env->width + cx, robot = env->cell_robot[c], shelf = env->cell_shelf[c];
                out[0] = 0.0f;
                out[1] = (float)(c == env->goal[0] || c == env->goal[1]);
                out[2] = (float)(robot != 0);
                out[3] = (float)(robot != 0 && env->robot_load[robot - 1] != 0);
                out[4] = (float)(shelf != 0);
                out[5] = (float)(shelf != 0 && env->requested[shelf - 1]);
            }
    }
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++) env->cell_robot[env->robot_cell[i]] = 0;
}

// 0, or -1 when out of memory (c_close frees whatever was allocated).
int c_init(Warehouse* env) {
    env->width = warehouse_width(env);
    env->height = warehouse_height(env);
    env->cells = env->width * env->height;
    env->num_shelves = warehouse_count_shelves(env);
    env->goal[0] = (env->height - 1) * env->width + env->width / 2 - 1;
    env->goal[1] = env->goal[0] + 1;
    env->highway = (unsigned char*)calloc((size_t)env->cells, 1);
    env->shelf_cell = (int*)calloc((size_t)env->num_shelves, sizeof(int));
    env->cell_shelf = (int*)calloc((size_t)env->cells, sizeof(int));
    env->requested = (unsigned char*)calloc((size_t)env->num_shelves, 1);
    env->picked = (unsigned char*)calloc((size_t)env->num_shelves, 1);
    env->requests = (int*)calloc((size_t)env->request_queue, sizeof(int));
    env->cell_robot = (int*)calloc((size_t)env->cells, sizeof(int));
    env->best = (int*)malloc((size_t)env->cells * sizeof(int));
    if (!env->highway || !env->shelf_cell || !env->cell_shelf || !env->requested || !env->picked || !env->requests
            || !env->cell_robot || !env->best)
        return -1;
    for (int c = 0; c < env->cells; c++) {
        env->highway[c] = (unsigned char)warehouse_is_highway(env, c % env->width, c / env->width);
        env->best[c] = -1;
    }
    return 0;
}

// A uniformly random shelf that is not requested (request_queue < num_shelves, so one exists).
static int warehouse_draw_unrequested(Warehouse* env) {
    for (int t = 0; t < 64; t++) {
        int s = rng_int(&env->rng, env->num_shelves);
        if (!env->requested[s]) return s;
    }
    int free_count = env->num_shelves - env->request_queue, k = rng_int(&env->rng, free_count);
    for (int s = 0; s < env->num_shelves; s++)
        if (!env->requested[s] && k-- == 0) return s;
    return 0;   // unreachable
}

// Shelves back on every shelf cell, new requests, robots on random distinct cells facing random ways.
static void warehouse_new_episode(Warehouse* env) {
    int shelf = 0;
    for (int c = 0; c < env->cells; c++) {
        env->cell_shelf[c] = 0;
        if (!env->highway[c]) {
            env->shelf_cell[shelf] = c;
            env->cell_shelf[c] = ++shelf;
        }
    }
    memset(env->requested, 0, (size_t)env->num_shelves);
    memset(env->picked, 0, (size_t)env->num_shelves);
    for (int r = 0; r < env->request_queue; r++) {
        env->requests[r] = warehouse_draw_unrequested(env);
        env->requested[env->requests[r]] = 1;
    }
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++) {
        int cell;
        do {
            cell = rng_int(&env->rng, env->cells);
        } while (env->cell_robot[cell]);
        env->cell_robot[cell] = i + 1;
        env->robot_cell[i] = cell;
        env->robot_dir[i] = rng_int(&env->rng, 4);
        env->robot_load[i] = 0;
        env->robot_deliveries[i] = 0;
        env->robot_return[i] = 0.0f;
    }
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++) env->cell_robot[env->robot_cell[i]] = 0;
    env->deliveries = 0;
    env->steps = 0;
    warehouse_observe(env);
}

void c_reset(Warehouse* env) {
    warehouse_new_episode(env);
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++) {
        env->rewards[i] = 0.0f;
        env->terminals[i] = 0;
        env->truncations[i] = 0;
    }
}

// The cell robot i wants this step (its own when it does not drive forward or is stopped by the warehouse's edge
// or, loaded, by a standing shelf). cell_robot must be filled.
static int warehouse_wanted_cell(const Warehouse* env, int i, int action) {
    int cell = env->robot_cell[i], x = cell % env->width, y = cell / env->width, d = env->robot_dir[i];
    if (action != WH_FORWARD) return cell;
    int nx = x + WH_DX[d], ny = y + WH_DY[d];
    if (nx < 0 || ny < 0 || nx >= env->width || ny >= env->height) return cell;
    int target = ny * env->width + nx, there = env->cell_robot[target];
    if (env->robot_load[i] && env->cell_shelf[target] && !(there && env->robot_load[there - 1])) return cell;
    return target;
}

// Decide which robots move (env->moves), as described at the top. next[i]: the robot in the cell i wants (i itself
// when i stays), or -1 for an empty cell. Each robot is visited once: a walk follows `next` until it meets an empty
// cell, a robot already decided, or itself (a loop); then the robots of the walk get their chain's sink cell (-1:
// the chain ends in a loop or a robot that stays) and their depth (robots ahead of them up to the sink).
static void warehouse_resolve_moves(Warehouse* env) {
    int* next = env->next, * depth = env->depth, * sink = env->sink, * moves = env->moves;
    int state[WAREHOUSE_ROBOTS] = {0}, walk[WAREHOUSE_ROBOTS];
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++) {
        int occupant = env->cell_robot[env->target[i]];
        next[i] = env->target[i] == env->robot_cell[i] ? i : occupant - 1;
        moves[i] = 0;
    }
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++) {
        if (state[i]) continue;
        int length = 0, j = i;
        while (j >= 0 && state[j] == 0) {
            state[j] = 1;
            walk[length++] = j;
            j = next[j];
        }
        int end_sink, end_depth;
        if (j < 0) {                                   // the walk's last robot wants an empty cell
            end_sink = env->target[walk[length - 1]];
            end_depth = -1;
        } else if (state[j] == 1) {                    // a new loop, from j to the walk's end
            int start = 0;
            while (walk[start] != j) start++;
            int loop = length - start;
            for (int k = start; k < length; k++) {
                moves[walk[k]] = loop >= 3;
                sink[walk[k]] = -1;
                depth[walk[k]] = 0;
                state[walk[k]] = 2;
            }
            length = start;
            end_sink = -1;
            end_depth = 0;
        } else {                                       // joins a chain decided before
            end_sink = sink[j];
            end_depth = depth[j];
        }
        for (int k = length - 1; k >= 0; k--) {
            sink[walk[k]] = end_sink;
            depth[walk[k]] = ++end_depth;
            state[walk[k]] = 2;
        }
    }
    // Per empty sink cell, the deepest robot (lowest index on ties) and every robot ahead of it move.
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++) {
        int e = sink[i];
        if (e >= 0 && (env->best[e] < 0 || depth[i] > depth[env->best[e]])) env->best[e] = i;
    }
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++) {
        int e = sink[i];
        if (e < 0 || env->best[e] < 0) continue;
        for (int j = env->best[e]; j >= 0; j = next[j]) moves[j] = 1;
        env->best[e] = -1;
    }
}

static void warehouse_end_episode(Warehouse* env) {
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++) {
        env->log.score += (float)env->deliveries;
        env->log.episode_return += env->robot_return[i];
        env->log.episode_length += (float)env->steps;
        env->log.deliveries += (float)env->robot_deliveries[i];
        env->log.carrying += (float)(env->robot_load[i] != 0);
        env->log.n += 1.0f;
    }
}

void c_step(Warehouse* env) {
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++) env->cell_robot[env->robot_cell[i]] = i + 1;
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++) {
        env->target[i] = warehouse_wanted_cell(env, i, env->actions[i]);
        env->rewards[i] = 0.0f;
    }
    warehouse_resolve_moves(env);
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++) env->cell_robot[env->robot_cell[i]] = 0;
    // Carried shelves leave their cells before any lands, so that a loop of loaded robots keeps every shelf.
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++)
        if (env->moves[i] && env->robot_load[i]) env->cell_shelf[env->robot_cell[i]] = 0;
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++) {
        int action = env->actions[i], load = env->robot_load[i];
        if (env->moves[i]) {
            env->robot_cell[i] = env->target[i];
            if (load) {
                env->shelf_cell[load - 1] = env->target[i];
                env->cell_shelf[env->target[i]] = load;
            }
        } else if (action == WH_TURN_LEFT) {
            env->robot_dir[i] = (env->robot_dir[i] + 1) & 3;
        } else if (action == WH_TURN_RIGHT) {
            env->robot_dir[i] = (env->robot_dir[i] + 3) & 3;
        } else if (action == WH_TOGGLE) {
            int cell = env->robot_cell[i];
            int shelf = env->cell_shelf[cell];
            if (!load && shelf && env->requested[shelf - 1] && !env->picked[shelf - 1]) {
                env->picked[shelf - 1] = 1;
                env->rewards[i] += env->reward_pickup;
            }
            if (!load) env->robot_load[i] = shelf;
            else if (!env->highway[cell]) env->robot_load[i] = 0;
        }
    }
    // Deliveries: a requested shelf on a goal cell leaves the queue; an unrequested one replaces it.
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++) {
        int cell = env->robot_cell[i], load = env->robot_load[i];
        if ((cell != env->goal[0] && cell != env->goal[1]) || !load || !env->requested[load - 1]) continue;
        int slot = 0;
        while (env->requests[slot] != load - 1) slot++;
        int replacement = warehouse_draw_unrequested(env);
        env->requested[load - 1] = 0;
        env->requested[replacement] = 1;
        env->picked[replacement] = 0;
        env->requests[slot] = replacement;
        env->deliveries++;
        env->robot_deliveries[i]++;
        if (env->global_reward)
            for (int k = 0; k < WAREHOUSE_ROBOTS; k++) env->rewards[k] += 1.0f;
        else
            env->rewards[i] += 1.0f;
    }
    env->steps++;
    int over = env->steps >= env->max_steps;
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++) {
        env->robot_return[i] += env->rewards[i];
        env->terminals[i] = 0;
        env->truncations[i] = (unsigned char)over;
    }
    if (over) {
        warehouse_end_episode(env);
        warehouse_new_episode(env);
        return;
    }
    warehouse_observe(env);
}

void c_render(Warehouse* env, unsigned char* frame) {
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    int top = 32;
    int cell = FRAME_W / env->width < (FRAME_H - top) / env->height ? FRAME_W / env->width
                                                                     : (FRAME_H - top) / env->height;
    if (cell < 2) cell = 2;   // very large warehouses are cut off
    draw_clear(canvas, COLOR_BACKGROUND);
    for (int c = 0; c < env->cells; c++) {
        int x = (c % env->width) * cell, y = top + (c / env->width) * cell;
        Color floor = (c == env->goal[0] || c == env->goal[1]) ? (Color){60, 60, 60}
                      : env->highway[c] ? (Color){20, 40, 40} : (Color){30, 55, 55};
        draw_rect(canvas, x, y, cell - 1, cell - 1, floor);
        int shelf = env->cell_shelf[c];
        if (shelf) draw_rect(canvas, x + 1, y + 1, cell - 3, cell - 3,
                             env->requested[shelf - 1] ? COLOR_CYAN : (Color){70, 90, 160});
    }
    for (int i = 0; i < WAREHOUSE_ROBOTS; i++) {
        int c = env->robot_cell[i], d = env->robot_dir[i];
        int cx = (c % env->width) * cell + cell / 2, cy = top + (c / env->width) * cell + cell / 2;
        draw_circle(canvas, cx, cy, cell / 3, env->robot_load[i] ? COLOR_RED : COLOR_ORANGE);
        draw_line(canvas, cx, cy, cx + WH_DX[d] * cell / 2, cy + WH_DY[d] * cell / 2, COLOR_WHITE);
    }
    char text[64];
    snprintf(text, sizeof text, "DELIVERED %d STEP %d", env->deliveries, env->steps);
    draw_text(canvas, 4, 8, text, 2, COLOR_WHITE);
}

// Text picture: '.' corridor, 'G' goal, 's' shelf cell without a shelf, 'x' shelf, 'X' requested shelf; robots as
// '^' '<' 'v' '>' (their heading), or 'A' 'B' ... for a loaded robot.
int c_render_text(Warehouse* env, char* buffer, int size) {
    static const char arrows[4] = {'^', '<', 'v', '>'};
    int length = 0;
    for (int y = 0; y < env->height; y++) {
        for (int x = 0; x < env->width; x++) {
            int c = y * env->width + x, shelf = env->cell_shelf[c];
            char symbol = (c == env->goal[0] || c == env->goal[1]) ? 'G' : env->highway[c] ? '.' : 's';
            if (shelf) symbol = env->requested[shelf - 1] ? 'X' : 'x';
            for (int i = 0; i < WAREHOUSE_ROBOTS; i++)
                if (env->robot_cell[i] == c) symbol = env->robot_load[i] ? (char)('A' + i) : arrows[env->robot_dir[i]];
            text_append(buffer, size, &length, "%c", symbol);
        }
        text_append(buffer, size, &length, "\n");
    }
    text_append(buffer, size, &length, "delivered %d step %d\n", env->deliveries, env->steps);
    return length;
}

void c_close(Warehouse* env) {
    free(env->highway);
    free(env->shelf_cell);
    free(env->cell_shelf);
    free(env->requested);
    free(env->picked);
    free(env->requests);
    free(env->cell_robot);
    free(env->best);
    env->highway = env->requested = env->picked = NULL;
    env->shelf_cell = env->cell_shelf = env->requests = env->cell_robot = env->best = NULL;
}
