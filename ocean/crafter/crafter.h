// Crafter: an open-ended 2D survival world after Hafner's Crafter benchmark (and Craftax-Classic), in plain C.
//
// Each episode generates a new world from value noise: grassland with trees around the start, lakes ringed by sand,
// and mountains of stone holding caves, tunnels, coal, iron, diamonds and lava. The player gathers materials,
// places a table and a furnace, makes pickaxes and swords, and keeps health, food, drink and energy up while cows
// graze, zombies roam the grass (many more at night) and skeletons shoot arrows in the tunnels. The rules (costs,
// requirements, life-stat rates, mob behaviour, spawn balancing, day length) follow Crafter 1.8's published rules;
// docs/ocean_games.md lists them. Reward: +1 for each of the 22 achievements the first time it is unlocked in an
// episode, plus 0.1 per point of health gained (minus per point lost).
//
// The world is stored with a border of CR_PAD void cells, so the player's view and every neighbour lookup stay
// inside the arrays without bounds checks; mobs and the player only ever stand on walkable cells inside the world.
// Objects (cows, zombies, skeletons, arrows, plants) live in parallel arrays; objmap holds slot + 1 per cell.
#pragma once
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "puffer.h"

#define CR_MAX_SIZE 64                       // largest world side (Crafter's world is 64 x 64)
#define CR_PAD 5                             // void border: more than the view's half-width (4)
#define CR_STRIDE (CR_MAX_SIZE + 2 * CR_PAD)
#define CR_CELLS (CR_STRIDE * CR_STRIDE)
#define CR_MAX_OBJECTS 240
#define CR_VIEW_W 9                          // the player sees 9 x 7 cells, itself at the centre (Crafter's view)
#define CR_VIEW_H 7
#define CR_VIEW_CELLS (CR_VIEW_W * CR_VIEW_H)
#define CR_CHANNELS 18                       // one-hot channels per view cell: 12 materials, 6 object kinds
#define CR_TAIL 22                           // 16 inventory counts, 4 facing, sleeping, daylight
#define CR_NUM_ACTIONS 17
#define CR_CHUNK 12                          // spawn balancing works on 12 x 12 chunks
#define CR_MAX_CHUNKS 36
#define CR_UPDATE_DISTANCE 18                // objects further than this (L1) from the player stand still
#define CR_DAY_LENGTH 300
#define CR_PLANT_RIPE 300                    // a sapling is ripe once it has grown for more steps than this
#define CR_PLANT_MAX 1000                    // growth counter saturates here (ripe either way)
#define CR_CELL_PIXELS 24
#define FRAME_W (CR_VIEW_W * CR_CELL_PIXELS)
#define FRAME_H ((CR_VIEW_H + 2) * CR_CELL_PIXELS)   // the view, then two rows of vitals and inventory
#define TEXT_SIZE 8192

enum { CR_VOID, CR_WATER, CR_GRASS, CR_STONE, CR_PATH, CR_SAND, CR_TREE, CR_LAVA, CR_COAL, CR_IRON, CR_DIAMOND,
       CR_TABLE, CR_FURNACE, CR_NUM_MATERIALS };
enum { CR_NO_OBJECT, CR_COW, CR_ZOMBIE, CR_SKELETON, CR_ARROW, CR_PLANT, CR_NUM_OBJECTS };
enum { CR_HEALTH, CR_FOOD, CR_DRINK, CR_ENERGY, CR_SAPLING, CR_WOOD, CR_STONE_ITEM, CR_COAL_ITEM, CR_IRON_ITEM,
       CR_DIAMOND_ITEM, CR_WOOD_PICKAXE, CR_STONE_PICKAXE, CR_IRON_PICKAXE, CR_WOOD_SWORD, CR_STONE_SWORD,
       CR_IRON_SWORD, CR_NUM_ITEMS };
enum { CR_NOOP, CR_LEFT, CR_RIGHT, CR_UP, CR_DOWN, CR_DO, CR_SLEEP, CR_PLACE_STONE, CR_PLACE_TABLE,
       CR_PLACE_FURNACE, CR_PLACE_PLANT, CR_MAKE_WOOD_PICKAXE, CR_MAKE_STONE_PICKAXE, CR_MAKE_IRON_PICKAXE,
       CR_MAKE_WOOD_SWORD, CR_MAKE_STONE_SWORD, CR_MAKE_IRON_SWORD };
#define CR_TABLE_WOOD 2                      // wood a table costs
#define CR_FURNACE_STONE 4                   // stone a furnace costs
#define CR_MAX_ITEM 9                        // every inventory count, vitals included, lies in [0, 9]

// The 22 achievements, in Crafter's (alphabetical) order; LOG_STATS reports each one's unlock rate.
#define CR_ACHIEVEMENTS(X) \
    X(collect_coal) X(collect_diamond) X(collect_drink) X(collect_iron) X(collect_sapling) X(collect_stone) \
    X(collect_wood) X(defeat_skeleton) X(defeat_zombie) X(eat_cow) X(eat_plant) X(make_iron_pickaxe) \
    X(make_iron_sword) X(make_stone_pickaxe) X(make_stone_sword) X(make_wood_pickaxe) X(make_wood_sword) \
    X(place_furnace) X(place_plant) X(place_stone) X(place_table) X(wake_up)
#define CR_ACHIEVEMENT_ENUM(name) CR_A_##name,
enum { CR_ACHIEVEMENTS(CR_ACHIEVEMENT_ENUM) CR_NUM_ACHIEVEMENTS };

#define OBS_TYPE unsigned char
#define ACT_TYPE int
#define LOG_STATS(X) CR_ACHIEVEMENTS(X)
PUFFER_LOG(LOG_STATS)   // score: achievements unlocked in the episode (0-22); each stat: 1 if unlocked, so its
                        // mean is that achievement's success rate

typedef struct {
    PUFFER_ENV_FIELDS
    // parameters
    int size;                 // world side in cells
    int max_steps;            // episode length limit (truncation)
    int onehot;               // 1: one-hot view cells (18 bytes each); 0: one id byte per cell
    // world
    unsigned char map[CR_CELLS];       // CR_* materials; CR_VOID outside the size x size world
    unsigned char objmap[CR_CELLS];    // object slot + 1, 0 for none (the player is not in it)
    int num_objects;
    int obj_cell[CR_MAX_OBJECTS];
    int obj_type[CR_MAX_OBJECTS];      // CR_COW .. CR_PLANT, or CR_NO_OBJECT for a slot freed this step
    int obj_health[CR_MAX_OBJECTS];
    int obj_timer[CR_MAX_OBJECTS];     // zombie attack cooldown, skeleton reload, plant growth
    int obj_dir[CR_MAX_OBJECTS];       // arrow flight direction
    // player
    int player_cell;
    int facing;                        // 0 left, 1 right, 2 up, 3 down (Crafter's move order)
    int sleeping;
    int inventory[CR_NUM_ITEMS];
    int achieved[CR_NUM_ACHIEVEMENTS];
    int hunger, thirst, recover;       // in half steps: sleeping advances them half as fast
    int fatigue;
    int last_health;                   // health after the player's last update (waking when hurt)
    int reward_health;                 // health when the last reward was computed
    int steps;
    float episode_return;
    float daylight;                    // 1 at noon, 0 at midnight (derived from steps)
    int offsets[4];                    // cell offset of each facing
    int removed;                       // scratch: an object was removed this step (compact the table)
} Crafter;

static const int cr_dx[4] = {-1, 1, 0, 0};
static const int cr_dy[4] = {0, 0, -1, 1};
// Cells a mob may walk on (grass, sand, path); the player may also step into lava (and dies); arrows fly over
// water and lava too.
static const unsigned char cr_walkable[CR_NUM_MATERIALS] = {0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0};
static const unsigned char cr_arrow_free[CR_NUM_MATERIALS] = {0, 1, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0};

static inline int cr_cell(int x, int y) { return (y + CR_PAD) * CR_STRIDE + x + CR_PAD; }
static inline int cr_x(int cell) { return cell % CR_STRIDE - CR_PAD; }
static inline int cr_y(int cell) { return cell / CR_STRIDE - CR_PAD; }
static inline int cr_distance(int a, int b) { return abs(cr_x(a) - cr_x(b)) + abs(cr_y(a) - cr_y(b)); }

// Crafter's day: 1 - |cos(pi * (t / 300 mod 1 + 0.3))|^3, bright at the start, dark around step 210 of 300.
static inline float cr_daylight(int steps) {
    double progress = fmod((double)steps / CR_DAY_LENGTH, 1.0) + 0.3;
    double c = fabs(cos(M_PI * progress));
    return (float)(1.0 - c * c * c);
}

// ---------------------------------------------------------------------------------------------------------------
// Objects

static int cr_add_object(Crafter* env, int type, int cell, int health) {
    if (env->num_objects >= CR_MAX_OBJECTS) return -1;   // a full world spawns nothing more
    int slot = env->num_objects++;
    env->obj_cell[slot] = cell;
    env->obj_type[slot] = type;
    env->obj_health[slot] = health;
    env->obj_timer[slot] = 0;
    env->obj_dir[slot] = 0;
    env->objmap[cell] = (unsigned char)(slot + 1);
    return slot;
}

// Frees the slot (compacted away by cr_compact_objects at the end of the step, so slots stay put meanwhile).
static void cr_remove_object(Crafter* env, int slot) {
    env->objmap[env->obj_cell[slot]] = 0;
    env->obj_type[slot] = CR_NO_OBJECT;
    env->removed = 1;
}

static void cr_compact_objects(Crafter* env) {
    int kept = 0;
    for (int slot = 0; slot < env->num_objects; slot++) {
        if (env->obj_type[slot] == CR_NO_OBJECT) continue;
        if (kept != slot) {
            env->obj_cell[kept] = env->obj_cell[slot];
            env->obj_type[kept] = env->obj_type[slot];
            env->obj_health[kept] = env->obj_health[slot];
            env->obj_timer[kept] = env->obj_timer[slot];
            env->obj_dir[kept] = env->obj_dir[slot];
            env->objmap[env->obj_cell[kept]] = (unsigned char)(kept + 1);
        }
        kept++;
    }
    env->num_objects = kept;
}

static inline int cr_free_for_mob(const Crafter* env, int cell) {
    return cr_walkable[env->map[cell]] && !env->objmap[cell] && cell != env->player_cell;
}

// Moves a mob one cell in direction (dx, dy) if the cell is free; returns 1 if it moved.
static int cr_move_object(Crafter* env, int slot, int dx, int dy) {
    if (dx == 0 && dy == 0) return 0;
    int from = env->obj_cell[slot], to = from + dy * CR_STRIDE + dx;
    if (!cr_free_for_mob(env, to)) return 0;
    env->objmap[from] = 0;
    env->objmap[to] = (unsigned char)(slot + 1);
    env->obj_cell[slot] = to;
    return 1;
}

static inline int cr_sign(int v) { return (v > 0) - (v < 0); }

// Crafter's `toward`: a unit step toward the player along the longer axis (or along the shorter one).
static void cr_toward(const Crafter* env, int cell, int long_axis, int* dx, int* dy) {
    int ox = cr_x(env->player_cell) - cr_x(cell), oy = cr_y(env->player_cell) - cr_y(cell);
    int along_x = long_axis ? abs(ox) > abs(oy) : abs(ox) <= abs(oy);
    *dx = along_x ? cr_sign(ox) : 0;
    *dy = along_x ? 0 : cr_sign(oy);
}

static void cr_random_dir(Crafter* env, int* dx, int* dy) {
    int d = rng_int(&env->rng, 4);
    *dx = cr_dx[d];
    *dy = cr_dy[d];
}

static void cr_hurt_object(Crafter* env, int slot, int damage) {
    env->obj_health[slot] -= damage;
    if (env->obj_health[slot] <= 0) cr_remove_object(env, slot);
}

static void cr_update_cow(Crafter* env, int slot) {
    if (rng_float(&env->rng) < 0.5f) {
        int dx, dy;
        cr_random_dir(env, &dx, &dy);
        cr_move_object(env, slot, dx, dy);
    }
}

static void cr_update_zombie(Crafter* env, int slot) {
    int dx, dy;
    if (cr_distance(env->obj_cell[slot], env->player_cell) <= 8 && rng_float(&env->rng) < 0.9f) {
        cr_toward(env, env->obj_cell[slot], rng_float(&env->rng) < 0.8f, &dx, &dy);
    } else {
        cr_random_dir(env, &dx, &dy);
    }
    cr_move_object(env, slot, dx, dy);
    if (cr_distance(env->obj_cell[slot], env->player_cell) <= 1) {
        if (env->obj_timer[slot] > 0) {
            env->obj_timer[slot]--;
        } else {
            int damage = env->sleeping ? 7 : 2;
            int health = env->inventory[CR_HEALTH] - damage;
            env->inventory[CR_HEALTH] = health > 0 ? health : 0;
            env->obj_timer[slot] = 5;
        }
    }
}

static void cr_update_skeleton(Crafter* env, int slot) {
    int cell = env->obj_cell[slot], dx, dy;
    if (env->obj_timer[slot] > 0) env->obj_timer[slot]--;
    int distance = cr_distance(cell, env->player_cell);
    if (distance <= 3) {
        cr_toward(env, cell, rng_float(&env->rng) < 0.6f, &dx, &dy);
        if (cr_move_object(env, slot, -dx, -dy)) return;   // backs away when the player comes close
    }
    if (distance <= 5 && rng_float(&env->rng) < 0.5f) {
        cr_toward(env, cell, 1, &dx, &dy);
        int target = cell + dy * CR_STRIDE + dx;
        if (env->obj_timer[slot] == 0 && (dx || dy) && cr_arrow_free[env->map[target]] && !env->objmap[target]
                && target != env->player_cell) {
            int arrow = cr_add_object(env, CR_ARROW, target, 1);
            if (arrow >= 0) {
                env->obj_dir[arrow] = dx < 0 ? 0 : dx > 0 ? 1 : dy < 0 ? 2 : 3;
                env->obj_timer[slot] = 4;
            }
        }
    } else if (distance <= 8 && rng_float(&env->rng) < 0.3f) {
        cr_toward(env, cell, rng_float(&env->rng) < 0.6f, &dx, &dy);
        cr_move_object(env, slot, dx, dy);
    } else if (rng_float(&env->rng) < 0.2f) {
        cr_random_dir(env, &dx, &dy);
        cr_move_object(env, slot, dx, dy);
    }
}

// An arrow flies one cell per step: into the player or a creature it deals 2 damage, into a table or furnace it
// breaks it (leaving path), into anything else solid it just disappears.
static void cr_update_arrow(Crafter* env, int slot) {
    int target = env->obj_cell[slot] + env->offsets[env->obj_dir[slot]];
    int hit = env->objmap[target] - 1;
    if (target == env->player_cell) {
        int health = env->inventory[CR_HEALTH] - 2;
        env->inventory[CR_HEALTH] = health > 0 ? health : 0;
        cr_remove_object(env, slot);
    } else if (hit >= 0) {
        cr_remove_object(env, slot);
        if (env->obj_type[hit] != CR_ARROW) cr_hurt_object(env, hit, 2);
    } else if (!cr_arrow_free[env->map[target]]) {
        cr_remove_object(env, slot);
        if (env->map[target] == CR_TABLE || env->map[target] == CR_FURNACE) env->map[target] = CR_PATH;
    } else {
        env->objmap[env->obj_cell[slot]] = 0;
        env->objmap[target] = (unsigned char)(slot + 1);
        env->obj_cell[slot] = target;
    }
}

// A plant grows every step; a cow, zombie or skeleton next to it eats it.
static void cr_update_plant(Crafter* env, int slot) {
    if (env->obj_timer[slot] < CR_PLANT_MAX) env->obj_timer[slot]++;
    int cell = env->obj_cell[slot];
    for (int d = 0; d < 4; d++) {
        int other = env->objmap[cell + env->offsets[d]] - 1;
        if (other >= 0 && env->obj_type[other] != CR_ARROW && env->obj_type[other] != CR_PLANT) {
            cr_hurt_object(env, slot, 1);
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The player

static inline void cr_unlock(Crafter* env, int achievement) { env->achieved[achievement] |= 1; }

static int cr_near(const Crafter* env, int material) {
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++)
            if (env->map[env->player_cell + dy * CR_STRIDE + dx] == material) return 1;
    return 0;
}

static void cr_do(Crafter* env, int target) {
    int* inv = env->inventory;
    int slot = env->objmap[target] - 1;
    if (slot >= 0) {
        int type = env->obj_type[slot];
        int damage = inv[CR_IRON_SWORD] ? 5 : inv[CR_STONE_SWORD] ? 3 : inv[CR_WOOD_SWORD] ? 2 : 1;
        if (type == CR_PLANT) {
            if (env->obj_timer[slot] > CR_PLANT_RIPE) {
                env->obj_timer[slot] = 0;
                inv[CR_FOOD] += 4;
                cr_unlock(env, CR_A_eat_plant);
            }
        } else if (type == CR_ZOMBIE || type == CR_SKELETON || type == CR_COW) {
            cr_hurt_object(env, slot, damage);
            if (env->obj_type[slot] == CR_NO_OBJECT) {
                if (type == CR_ZOMBIE) cr_unlock(env, CR_A_defeat_zombie);
                if (type == CR_SKELETON) cr_unlock(env, CR_A_defeat_skeleton);
                if (type == CR_COW) {
                    inv[CR_FOOD] += 6;
                    env->hunger = 0;
                    cr_unlock(env, CR_A_eat_cow);
                }
            }
        }
        return;
    }
    switch (env->map[target]) {
        case CR_WATER:
            env->thirst = 0;
            inv[CR_DRINK]++;
            cr_unlock(env, CR_A_collect_drink);
            break;
        case CR_GRASS:
            if (rng_float(&env->rng) < 0.1f) {
                inv[CR_SAPLING]++;
                cr_unlock(env, CR_A_collect_sapling);
            }
            break;
        case CR_TREE:
            env->map[target] = CR_GRASS;   // Crafter 1.8: a tree gives one wood and leaves grass
            inv[CR_WOOD]++;
            cr_unlock(env, CR_A_collect_wood);
            break;
        case CR_STONE:
            if (!inv[CR_WOOD_PICKAXE]) break;
            env->map[target] = CR_PATH;
            inv[CR_STONE_ITEM]++;
            cr_unlock(env, CR_A_collect_stone);
            break;
        case CR_COAL:
            if (!inv[CR_WOOD_PICKAXE]) break;
            env->map[target] = CR_PATH;
            inv[CR_COAL_ITEM]++;
            cr_unlock(env, CR_A_collect_coal);
            break;
        case CR_IRON:
            if (!inv[CR_STONE_PICKAXE]) break;
            env->map[target] = CR_PATH;
            inv[CR_IRON_ITEM]++;
            cr_unlock(env, CR_A_collect_iron);
            break;
        case CR_DIAMOND:
            if (!inv[CR_IRON_PICKAXE]) break;
            env->map[target] = CR_PATH;
            inv[CR_DIAMOND_ITEM]++;
            cr_unlock(env, CR_A_collect_diamond);
            break;
        default:
            break;
    }
}

// Placing needs the cell in front free of objects, of a suitable material, and the materials in the inventory.
static void cr_place(Crafter* env, int action, int target) {
    static const int item[4] = {CR_STONE_ITEM, CR_WOOD, CR_STONE_ITEM, CR_SAPLING};
    static const int achievement[4] = {CR_A_place_stone, CR_A_place_table, CR_A_place_furnace, CR_A_place_plant};
    int kind = action - CR_PLACE_STONE, material = env->map[target];
    if (env->objmap[target]) return;
    int where = kind == 0 ? (material == CR_GRASS || material == CR_SAND || material == CR_PATH
                             || material == CR_WATER || material == CR_LAVA)
              : kind == 3 ? material == CR_GRASS
              : (material == CR_GRASS || material == CR_SAND || material == CR_PATH);
    int needed = kind == 1 ? CR_TABLE_WOOD : kind == 2 ? CR_FURNACE_STONE : 1;
    if (!where || env->inventory[item[kind]] < needed) return;
    if (kind == 3) {
        int slot = cr_add_object(env, CR_PLANT, target, 1);
        if (slot < 0) return;
    } else {
        env->map[target] = kind == 0 ? CR_STONE : kind == 1 ? CR_TABLE : CR_FURNACE;
    }
    env->inventory[item[kind]] -= needed;
    cr_unlock(env, achievement[kind]);
}

// Tools need a table within one cell (the 3 x 3 square around the player), iron ones a furnace too.
static void cr_make(Crafter* env, int action) {
    int kind = action - CR_MAKE_WOOD_PICKAXE;        // wood, stone, iron pickaxe; wood, stone, iron sword
    int tier = kind % 3;
    int* inv = env->inventory;
    if (!cr_near(env, CR_TABLE) || (tier == 2 && !cr_near(env, CR_FURNACE))) return;
    if (inv[CR_WOOD] < 1 || (tier == 1 && inv[CR_STONE_ITEM] < 1)
            || (tier == 2 && (inv[CR_COAL_ITEM] < 1 || inv[CR_IRON_ITEM] < 1)))
        return;
    inv[CR_WOOD]--;
    if (tier == 1) inv[CR_STONE_ITEM]--;
    if (tier == 2) { inv[CR_COAL_ITEM]--; inv[CR_IRON_ITEM]--; }
    static const int tool[6] = {CR_WOOD_PICKAXE, CR_STONE_PICKAXE, CR_IRON_PICKAXE, CR_WOOD_SWORD, CR_STONE_SWORD,
                                CR_IRON_SWORD};
    static const int achievement[6] = {CR_A_make_wood_pickaxe, CR_A_make_stone_pickaxe, CR_A_make_iron_pickaxe,
                                       CR_A_make_wood_sword, CR_A_make_stone_sword, CR_A_make_iron_sword};
    inv[tool[kind]]++;
    cr_unlock(env, achievement[kind]);
}

// Hunger, thirst and fatigue tick up (half as fast asleep); health recovers while food, drink and energy (or
// sleep) last, and drains when one runs out.
static void cr_life_stats(Crafter* env) {
    int* inv = env->inventory;
    int tick = env->sleeping ? 1 : 2;   // half steps
    env->hunger += tick;
    if (env->hunger > 50) { env->hunger = 0; inv[CR_FOOD]--; }
    env->thirst += tick;
    if (env->thirst > 40) { env->thirst = 0; inv[CR_DRINK]--; }
    if (env->sleeping) env->fatigue = env->fatigue - 1 < 0 ? env->fatigue - 1 : 0;
    else env->fatigue++;
    if (env->fatigue < -10) { env->fatigue = 0; inv[CR_ENERGY]++; }
    if (env->fatigue > 30) { env->fatigue = 0; inv[CR_ENERGY]--; }
    int fine = inv[CR_FOOD] > 0 && inv[CR_DRINK] > 0 && (inv[CR_ENERGY] > 0 || env->sleeping);
    env->recover += fine ? (env->sleeping ? 4 : 2) : (env->sleeping ? -1 : -2);
    if (env->recover > 50) { env->recover = 0; inv[CR_HEALTH]++; }
    if (env->recover < -30) { env->recover = 0; inv[CR_HEALTH]--; }
}

static void cr_update_player(Crafter* env, int action) {
    int* inv = env->inventory;
    if (env->sleeping) {
        if (inv[CR_ENERGY] < CR_MAX_ITEM) {
            action = CR_SLEEP;
        } else {
            env->sleeping = 0;
            cr_unlock(env, CR_A_wake_up);
        }
    }
    int target = env->player_cell + env->offsets[env->facing];
    if (action >= CR_LEFT && action <= CR_DOWN) {
        env->facing = action - CR_LEFT;
        int to = env->player_cell + env->offsets[env->facing];
        if ((cr_walkable[env->map[to]] || env->map[to] == CR_LAVA) && !env->objmap[to]) {
            env->player_cell = to;
            if (env->map[to] == CR_LAVA) inv[CR_HEALTH] = 0;
        }
    } else if (action == CR_DO) {
        cr_do(env, target);
    } else if (action == CR_SLEEP) {
        if (inv[CR_ENERGY] < CR_MAX_ITEM) env->sleeping = 1;
    } else if (action >= CR_PLACE_STONE && action <= CR_PLACE_PLANT) {
        cr_place(env, action, target);
    } else if (action >= CR_MAKE_WOOD_PICKAXE) {
        cr_make(env, action);
    }
    cr_life_stats(env);
    for (int i = 0; i < CR_NUM_ITEMS; i++) inv[i] = inv[i] < 0 ? 0 : inv[i] > CR_MAX_ITEM ? CR_MAX_ITEM : inv[i];
    if (inv[CR_HEALTH] < env->last_health) env->sleeping = 0;   // pain wakes the player (no achievement)
    env->last_health = inv[CR_HEALTH];
}

// ---------------------------------------------------------------------------------------------------------------
// World generation: value noise (random values on a lattice, smoothly interpolated) stands in for Crafter's
// simplex noise, scaled to the same spread (its quantiles then match simplex noise's within 3%), with Crafter's
// thresholds; the resulting material shares are within a few percent of Crafter's (docs/ocean_games.md).
// Each noise field is separable: the lattice rows are interpolated along x once per episode, and each map row is a
// blend of two of them, so a whole world costs tens of microseconds.

enum { CR_F_START, CR_F_WATER, CR_F_WATER_DETAIL, CR_F_MOUNTAIN, CR_F_MOUNTAIN_DETAIL, CR_F_CAVE, CR_F_TUNNEL_H,
       CR_F_TUNNEL_V, CR_F_COAL, CR_F_IRON, CR_F_LAVA, CR_F_SAND, CR_F_TREE, CR_NUM_FIELDS };
// Lattice spacing of each field in cells along x and y (Crafter's sizes; its tunnels stretch one axis).
static const float cr_field_scale[CR_NUM_FIELDS][2] = {
    {3, 3}, {15, 15}, {5, 5}, {15, 15}, {5, 5}, {7, 7}, {1.5f, 15}, {15, 1.5f}, {8, 8}, {6, 6}, {5, 5}, {9, 9},
    {7, 7}};
#define CR_FIELD_ROWS 200    // lattice rows of all fields together for a 64-cell world (179 needed)

static inline float cr_lattice(uint64_t seed, int field, int ix, int iy) {
    uint64_t h = seed ^ ((uint64_t)(uint32_t)ix * 0x9E3779B97F4A7C15ULL)
                 ^ ((uint64_t)(uint32_t)iy * 0xC2B2AE3D27D4EB4FULL) ^ ((uint64_t)(field + 1) * 0x165667B19E3779F9ULL);
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 32;
    return (float)(h >> 40) * (2.0f * 0.74f / 16777216.0f) - 0.74f;   // uniform in [-0.74, 0.74)
}

static inline float cr_smooth(float t) { return t * t * (3.0f - 2.0f * t); }

static void cr_generate(Crafter* env) {
    float lattice_rows[CR_FIELD_ROWS][CR_MAX_SIZE];   // per field, its lattice rows interpolated along x
    int first_row[CR_NUM_FIELDS];
    float value[CR_NUM_FIELDS][CR_MAX_SIZE];          // the fields along the current map row
    uint64_t seed = rng_next(&env->rng);
    int size = env->size, centre = size / 2, rows = 0;
    for (int f = 0; f < CR_NUM_FIELDS; f++) {
        float sx = cr_field_scale[f][0], sy = cr_field_scale[f][1];
        int count = (int)((size - 1) / sy) + 2, columns = (int)((size - 1) / sx) + 2, ix[CR_MAX_SIZE];
        float t[CR_MAX_SIZE], lattice[CR_MAX_SIZE];
        for (int x = 0; x < size; x++) {
            float fx = x / sx;
            ix[x] = (int)fx;
            t[x] = cr_smooth(fx - ix[x]);
        }
        first_row[f] = rows;
        for (int j = 0; j < count; j++, rows++) {
            for (int i = 0; i < columns; i++) lattice[i] = cr_lattice(seed, f, i, j);
            for (int x = 0; x < size; x++) {
                float a = lattice[ix[x]], b = lattice[ix[x] + 1];
                lattice_rows[rows][x] = a + (b - a) * t[x];
            }
        }
    }
    memset(env->map, CR_VOID, sizeof(env->map));
    memset(env->objmap, 0, sizeof(env->objmap));
    env->num_objects = 0;
    for (int y = 0; y < size; y++) {
        for (int f = 0; f < CR_NUM_FIELDS; f++) {
            float fy = y / cr_field_scale[f][1];
            int iy = (int)fy;
            float t = cr_smooth(fy - iy);
            const float* top = lattice_rows[first_row[f] + iy];
            const float* bottom = top + CR_MAX_SIZE;
            for (int x = 0; x < size; x++) value[f][x] = top[x] + (bottom[x] - top[x]) * t;
        }
        for (int x = 0; x < size; x++) {
            float dist = sqrtf((float)((x - centre) * (x - centre) + (y - centre) * (y - centre)));
            float logit = 4.0f - dist + 2.0f * value[CR_F_START][x];
            float start = logit < -20.0f ? 0.0f : 1.0f / (1.0f + expf(-logit));   // below: under float precision
            float water = value[CR_F_WATER][x] + 0.15f * value[CR_F_WATER_DETAIL][x] + 0.1f - 2.0f * start;
            float mountain = (value[CR_F_MOUNTAIN][x] + 0.3f * value[CR_F_MOUNTAIN_DETAIL][x]) / 1.3f;
            mountain -= 4.0f * start + 0.3f * water;
            int cell = cr_cell(x, y);
            unsigned char m;
            if (start > 0.5f) {
                m = CR_GRASS;
            } else if (mountain > 0.15f) {
                if (value[CR_F_CAVE][x] > 0.15f && mountain > 0.3f) {
                    m = CR_PATH;
                } else if (value[CR_F_TUNNEL_H][x] > 0.4f || value[CR_F_TUNNEL_V][x] > 0.4f) {
                    m = CR_PATH;
                    env->objmap[cell] = 1;   // marks a tunnel (skeletons start there) until objects are placed
                } else if (value[CR_F_COAL][x] > 0.0f && rng_float(&env->rng) > 0.85f) {
                    m = CR_COAL;
                } else if (value[CR_F_IRON][x] > 0.4f && rng_float(&env->rng) > 0.75f) {
                    m = CR_IRON;
                } else if (mountain > 0.18f && rng_float(&env->rng) > 0.994f) {
                    m = CR_DIAMOND;
                } else if (mountain > 0.3f && value[CR_F_LAVA][x] > 0.35f) {
                    m = CR_LAVA;
                } else {
                    m = CR_STONE;
                }
            } else if (water > 0.25f && water <= 0.35f && value[CR_F_SAND][x] > -0.2f) {
                m = CR_SAND;
            } else if (water > 0.3f) {
                m = CR_WATER;
            } else {
                m = value[CR_F_TREE][x] > 0.0f && rng_float(&env->rng) > 0.8f ? CR_TREE : CR_GRASS;
            }
            env->map[cell] = m;
        }
    }
    env->player_cell = cr_cell(centre, centre);
    for (int y = 0; y < size; y++) {
        for (int x = 0; x < size; x++) {
            int cell = cr_cell(x, y), tunnel = env->objmap[cell];
            env->objmap[cell] = 0;
            unsigned char m = env->map[cell];
            if (!cr_walkable[m] || cell == env->player_cell) continue;
            int d2 = (x - centre) * (x - centre) + (y - centre) * (y - centre);
            if (d2 > 9 && m == CR_GRASS && rng_float(&env->rng) > 0.985f) cr_add_object(env, CR_COW, cell, 3);
            else if (d2 > 100 && rng_float(&env->rng) > 0.993f) cr_add_object(env, CR_ZOMBIE, cell, 5);
            else if (tunnel && rng_float(&env->rng) > 0.95f) cr_add_object(env, CR_SKELETON, cell, 3);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Spawn balancing (every 10 steps, per 12 x 12 chunk, as Crafter): zombies on grass, more at night; skeletons on
// paths; cows on grass. A kind below its target spawns with some probability on a random cell of its material far
// enough from the player; above its maximum, a random one far enough away despawns with some probability.

typedef struct { int type, material, spawn_distance, despawn_distance; float spawn_prob, despawn_prob; } CrBalance;

static void cr_balance_chunk(Crafter* env, int x0, int y0, const int* counts) {
    static const CrBalance kinds[3] = {
        {CR_ZOMBIE, CR_GRASS, 6, 0, 0.3f, 0.4f},
        {CR_SKELETON, CR_PATH, 7, 7, 0.1f, 0.1f},
        {CR_COW, CR_GRASS, 5, 5, 0.01f, 0.1f},
    };
    int x1 = x0 + CR_CHUNK < env->size ? x0 + CR_CHUNK : env->size;
    int y1 = y0 + CR_CHUNK < env->size ? y0 + CR_CHUNK : env->size;
    int grass = -1, path = -1;   // counted only when a spawn is drawn: most checks end before needing them
    float light = env->daylight;
    for (int k = 0; k < 3; k++) {
        const CrBalance* kind = &kinds[k];
        int count = counts[kind->type];
        // Crafter's targets: spawn below `low` (0 where the chunk has too little of the material), despawn above
        // `high`; `most` bounds `low` whatever the chunk holds.
        float high = kind->type == CR_ZOMBIE ? 3.5f - 3.0f * light : kind->type == CR_SKELETON ? 2.0f : 1.5f + light;
        float most = kind->type == CR_ZOMBIE ? high : 1.0f;
        if (count < (int)most && rng_float(&env->rng) < kind->spawn_prob) {
            if (grass < 0) {
                grass = path = 0;
                for (int y = y0; y < y1; y++) {
                    const unsigned char* row = env->map + cr_cell(0, y);
                    for (int x = x0; x < x1; x++) {
                        grass += row[x] == CR_GRASS;
                        path += row[x] == CR_PATH;
                    }
                }
            }
            int space = kind->material == CR_GRASS ? grass : path;
            int enough = space >= (kind->type == CR_ZOMBIE ? 50 : kind->type == CR_SKELETON ? 6 : 30);
            if (!enough) continue;
            int pick = rng_int(&env->rng, space);
            for (int y = y0; y < y1; y++) {
                for (int x = x0; x < x1; x++) {
                    int cell = cr_cell(x, y);
                    if (env->map[cell] != kind->material || pick--) continue;
                    if (!env->objmap[cell] && cr_distance(cell, env->player_cell) >= kind->spawn_distance)
                        cr_add_object(env, kind->type, cell, kind->type == CR_ZOMBIE ? 5 : 3);
                    y = y1;
                    break;
                }
            }
        } else if (count > (int)high && rng_float(&env->rng) < kind->despawn_prob) {
            int pick = rng_int(&env->rng, count);
            for (int slot = 0; slot < env->num_objects; slot++) {
                int cell = env->obj_cell[slot];
                if (env->obj_type[slot] != kind->type || cr_x(cell) < x0 || cr_x(cell) >= x1 || cr_y(cell) < y0
                        || cr_y(cell) >= y1 || pick--)
                    continue;
                if (cr_distance(cell, env->player_cell) >= kind->despawn_distance) cr_remove_object(env, slot);
                break;
            }
        }
    }
}

static void cr_balance(Crafter* env) {
    int counts[CR_MAX_CHUNKS][CR_NUM_OBJECTS] = {{0}};   // creatures of each kind per chunk, before any change
    int chunks_x = (env->size + CR_CHUNK - 1) / CR_CHUNK;
    for (int slot = 0; slot < env->num_objects; slot++) {
        int cell = env->obj_cell[slot];
        counts[(cr_y(cell) / CR_CHUNK) * chunks_x + cr_x(cell) / CR_CHUNK][env->obj_type[slot]]++;
    }
    for (int cy = 0; cy < chunks_x; cy++)
        for (int cx = 0; cx < chunks_x; cx++)
            cr_balance_chunk(env, cx * CR_CHUNK, cy * CR_CHUNK, counts[cy * chunks_x + cx]);
}

// ---------------------------------------------------------------------------------------------------------------
// Observation: the 9 x 7 view row by row (top row first), then the tail. With onehot = 1 each view cell is 18
// bytes: channels 0-11 the materials water, grass, stone, path, sand, tree, lava, coal, iron, diamond, table,
// furnace; 12-17 a cow, zombie, skeleton, arrow, sapling, ripe plant on the cell (all 0 outside the world). With
// onehot = 0 each cell is one byte: 0 outside the world, 1-12 the material, 13-18 the object standing there.
// Tail (22 bytes): the 16 inventory counts (health, food, drink, energy, sapling, wood, stone, coal, iron, diamond,
// wood/stone/iron pickaxe, wood/stone/iron sword; 0-9), facing one-hot (left, right, up, down), sleeping (0/1),
// daylight in tenths rounded down to 0-9.

static inline int cr_obs_size(const Crafter* env) {
    return CR_VIEW_CELLS * (env->onehot ? CR_CHANNELS : 1) + CR_TAIL;
}

static inline double cr_obs_high(const Crafter* env, int i) {
    int cells = CR_VIEW_CELLS * (env->onehot ? CR_CHANNELS : 1);
    if (i < cells) return env->onehot ? 1 : CR_CHANNELS;
    int t = i - cells;
    return t < CR_NUM_ITEMS ? CR_MAX_ITEM : t < CR_NUM_ITEMS + 5 ? 1 : 9;
}

// The object channel (0-5 after the 12 materials) of the object in a cell, or -1.
static inline int cr_object_channel(const Crafter* env, int cell) {
    int slot = env->objmap[cell] - 1;
    if (slot < 0) return -1;
    int type = env->obj_type[slot];
    if (type == CR_PLANT && env->obj_timer[slot] > CR_PLANT_RIPE) return 5;
    return type - 1;
}

static void cr_write_obs(Crafter* env) {
    unsigned char* obs = env->observations;
    int corner = env->player_cell - (CR_VIEW_H / 2) * CR_STRIDE - CR_VIEW_W / 2;
    if (env->onehot) {
        memset(obs, 0, CR_VIEW_CELLS * CR_CHANNELS);
        for (int r = 0; r < CR_VIEW_H; r++) {
            for (int c = 0; c < CR_VIEW_W; c++) {
                int cell = corner + r * CR_STRIDE + c;
                unsigned char* out = obs + (r * CR_VIEW_W + c) * CR_CHANNELS;
                int material = env->map[cell];
                if (material) out[material - 1] = 1;
                int channel = cr_object_channel(env, cell);
                if (channel >= 0) out[12 + channel] = 1;
            }
        }
        obs += CR_VIEW_CELLS * CR_CHANNELS;
    } else {
        for (int r = 0; r < CR_VIEW_H; r++) {
            for (int c = 0; c < CR_VIEW_W; c++) {
                int cell = corner + r * CR_STRIDE + c;
                int channel = cr_object_channel(env, cell);
                obs[r * CR_VIEW_W + c] = (unsigned char)(channel >= 0 ? 13 + channel : env->map[cell]);
            }
        }
        obs += CR_VIEW_CELLS;
    }
    for (int i = 0; i < CR_NUM_ITEMS; i++) obs[i] = (unsigned char)env->inventory[i];
    for (int d = 0; d < 4; d++) obs[CR_NUM_ITEMS + d] = env->facing == d;
    obs[CR_NUM_ITEMS + 4] = (unsigned char)env->sleeping;
    int light = (int)(env->daylight * 10.0f);
    obs[CR_NUM_ITEMS + 5] = (unsigned char)(light > 9 ? 9 : light < 0 ? 0 : light);
}

// ---------------------------------------------------------------------------------------------------------------
// The env contract

int c_init(Crafter* env) {
    env->offsets[0] = -1;
    env->offsets[1] = 1;
    env->offsets[2] = -CR_STRIDE;
    env->offsets[3] = CR_STRIDE;
    return 0;
}

static void cr_new_episode(Crafter* env) {
    cr_generate(env);
    for (int i = 0; i < CR_NUM_ITEMS; i++) env->inventory[i] = i <= CR_ENERGY ? CR_MAX_ITEM : 0;
    memset(env->achieved, 0, sizeof(env->achieved));
    env->facing = 3;   // down, as Crafter
    env->sleeping = 0;
    env->hunger = env->thirst = env->recover = env->fatigue = 0;
    env->last_health = env->reward_health = CR_MAX_ITEM;
    env->steps = 0;
    env->episode_return = 0.0f;
    env->daylight = cr_daylight(0);
}

void c_reset(Crafter* env) {
    cr_new_episode(env);
    env->rewards[0] = 0.0f;
    env->terminals[0] = 0;
    env->truncations[0] = 0;
    cr_write_obs(env);
}

static void cr_end_episode(Crafter* env) {
    int unlocked = 0;
    for (int a = 0; a < CR_NUM_ACHIEVEMENTS; a++) unlocked += env->achieved[a];
#define CR_LOG_ACHIEVEMENT(name) env->log.name += (float)env->achieved[CR_A_##name];
    CR_ACHIEVEMENTS(CR_LOG_ACHIEVEMENT)
#undef CR_LOG_ACHIEVEMENT
    env->log.score += (float)unlocked;
    env->log.episode_return += env->episode_return;
    env->log.episode_length += (float)env->steps;
    env->log.n += 1.0f;
}

void c_step(Crafter* env) {
    int before[CR_NUM_ACHIEVEMENTS];
    memcpy(before, env->achieved, sizeof(before));
    env->removed = 0;
    env->steps++;
    env->daylight = cr_daylight(env->steps);
    cr_update_player(env, env->actions[0]);
    int n = env->num_objects;   // arrows shot this step start flying next step
    for (int slot = 0; slot < n; slot++) {
        int type = env->obj_type[slot];
        if (type == CR_NO_OBJECT || cr_distance(env->obj_cell[slot], env->player_cell) >= CR_UPDATE_DISTANCE)
            continue;
        switch (type) {
            case CR_COW: cr_update_cow(env, slot); break;
            case CR_ZOMBIE: cr_update_zombie(env, slot); break;
            case CR_SKELETON: cr_update_skeleton(env, slot); break;
            case CR_ARROW: cr_update_arrow(env, slot); break;
            default: cr_update_plant(env, slot); break;
        }
    }
    if (env->steps % 10 == 0) cr_balance(env);
    if (env->removed) cr_compact_objects(env);
    int health = env->inventory[CR_HEALTH];
    float reward = 0.1f * (float)(health - env->reward_health);
    env->reward_health = health;
    for (int a = 0; a < CR_NUM_ACHIEVEMENTS; a++) reward += (float)(env->achieved[a] - before[a]);
    env->episode_return += reward;
    env->rewards[0] = reward;
    int dead = health <= 0, over = env->steps >= env->max_steps;
    env->terminals[0] = (unsigned char)dead;
    env->truncations[0] = (unsigned char)(over && !dead);
    if (dead || over) {
        cr_end_episode(env);
        cr_new_episode(env);
    }
    cr_write_obs(env);
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering: the player's 9 x 7 view (darker at night), then vitals and inventory as coloured squares with counts.

static const Color cr_material_colors[CR_NUM_MATERIALS] = {
    {0, 0, 0}, {50, 100, 220}, {90, 170, 70}, {125, 125, 125}, {180, 150, 110}, {225, 205, 140}, {30, 110, 40},
    {230, 90, 20}, {60, 60, 60}, {190, 130, 90}, {120, 230, 230}, {140, 90, 40}, {80, 70, 70}};
static const Color cr_object_colors[6] = {
    {240, 240, 240}, {40, 90, 40}, {220, 220, 200}, {250, 250, 120}, {120, 200, 60}, {220, 50, 70}};

static Color cr_dim(Color c, float light) {
    float k = 0.35f + 0.65f * light;
    return (Color){(unsigned char)(c.r * k), (unsigned char)(c.g * k), (unsigned char)(c.b * k)};
}

static void cr_draw_cell(Canvas canvas, const Crafter* env, int cell, int px, int py, float light) {
    const int s = CR_CELL_PIXELS;
    int material = env->map[cell];
    draw_rect(canvas, px, py, s, s, cr_dim(cr_material_colors[material], light));
    Color dots = {0, 0, 0};
    if (material == CR_TREE) {
        draw_rect(canvas, px, py, s, s, cr_dim(cr_material_colors[CR_GRASS], light));
        draw_circle(canvas, px + s / 2, py + s / 2 - 2, s / 3, cr_dim(cr_material_colors[CR_TREE], light));
        draw_rect(canvas, px + s / 2 - 2, py + s - 7, 4, 6, cr_dim((Color){100, 60, 30}, light));
    } else if (material == CR_COAL || material == CR_IRON || material == CR_DIAMOND) {
        dots = cr_material_colors[material];
        draw_rect(canvas, px, py, s, s, cr_dim(cr_material_colors[CR_STONE], light));
        for (int k = 0; k < 4; k++)
            draw_rect(canvas, px + 4 + (k % 2) * 10, py + 4 + (k / 2) * 10, 6, 6, cr_dim(dots, light));
    } else if (material == CR_TABLE) {
        draw_rect(canvas, px + 2, py + 4, s - 4, 5, cr_dim((Color){190, 130, 60}, light));
        draw_rect(canvas, px + 4, py + 9, 4, s - 10, cr_dim((Color){190, 130, 60}, light));
        draw_rect(canvas, px + s - 8, py + 9, 4, s - 10, cr_dim((Color){190, 130, 60}, light));
    } else if (material == CR_FURNACE) {
        draw_rect(canvas, px + 6, py + 8, s - 12, s - 12, cr_dim(COLOR_ORANGE, light));
    }
    int channel = cr_object_channel(env, cell);
    if (channel >= 0) {
        Color color = cr_dim(cr_object_colors[channel], light);
        if (channel == 3) {
            draw_rect(canvas, px + s / 2 - 1, py + 4, 3, s - 8, color);
            draw_rect(canvas, px + 4, py + s / 2 - 1, s - 8, 3, color);
        } else if (channel >= 4) {
            draw_rect(canvas, px + s / 2 - 1, py + s / 2, 3, s / 2 - 2, cr_dim((Color){60, 140, 40}, light));
            draw_circle(canvas, px + s / 2, py + s / 2, channel == 5 ? 5 : 3, color);
        } else {
            draw_rect(canvas, px + 3, py + 5, s - 6, s - 9, color);
            draw_rect(canvas, px + 6, py + 8, 3, 3, COLOR_BLACK);
            draw_rect(canvas, px + s - 9, py + 8, 3, 3, COLOR_BLACK);
        }
    }
}

void c_render(Crafter* env, unsigned char* frame) {
    const int s = CR_CELL_PIXELS;
    Canvas canvas = canvas_of(frame, FRAME_W, FRAME_H);
    draw_clear(canvas, COLOR_BLACK);
    float light = env->daylight;
    int corner = env->player_cell - (CR_VIEW_H / 2) * CR_STRIDE - CR_VIEW_W / 2;
    for (int r = 0; r < CR_VIEW_H; r++)
        for (int c = 0; c < CR_VIEW_W; c++) cr_draw_cell(canvas, env, corner + r * CR_STRIDE + c, c * s, r * s, light);
    int px = (CR_VIEW_W / 2) * s, py = (CR_VIEW_H / 2) * s;
    Color body = env->sleeping ? (Color){120, 120, 200} : (Color){230, 190, 150};
    draw_rect(canvas, px + 4, py + 3, s - 8, s - 6, body);
    draw_rect(canvas, px + 4 + (s - 12) / 2 + cr_dx[env->facing] * 6, py + 3 + (s - 12) / 2 + cr_dy[env->facing] * 6,
              4, 4, COLOR_BLACK);   // the eye looks where the player faces
    static const Color item_colors[CR_NUM_ITEMS] = {
        {230, 60, 60}, {240, 150, 60}, {60, 130, 240}, {240, 220, 60}, {120, 200, 60}, {140, 90, 40},
        {125, 125, 125}, {50, 50, 50}, {190, 130, 90}, {120, 230, 230}, {170, 120, 60}, {150, 150, 150},
        {200, 170, 140}, {170, 120, 60}, {150, 150, 150}, {200, 170, 140}};
    int shown = 0;
    for (int i = 0; i < CR_NUM_ITEMS; i++) {
        if (i > CR_ENERGY && env->inventory[i] == 0) continue;   // vitals always, items when held
        int x = (shown % CR_VIEW_W) * s, y = (CR_VIEW_H + shown / CR_VIEW_W) * s;
        if (y >= FRAME_H) break;
        draw_rect(canvas, x + 2, y + 2, 9, 9, item_colors[i]);
        if (i >= CR_WOOD_PICKAXE) draw_rect(canvas, x + 2, y + 2, 9, 3, i >= CR_WOOD_SWORD ? COLOR_WHITE : COLOR_GRAY);
        char count[4];
        snprintf(count, sizeof count, "%d", env->inventory[i]);
        draw_text(canvas, x + 13, y + 4, count, 2, COLOR_WHITE);
        shown++;
    }
}

// Text picture: the whole world, then the player's state. '@' player (facing shown below); materials: '~' water,
// '.' grass, '#' stone, '_' path, ':' sand, 'T' tree, '%' lava, 'c' coal, 'i' iron, 'D' diamond, 't' table,
// 'f' furnace; objects: 'C' cow, 'Z' zombie, 'S' skeleton, '*' arrow, 'p' sapling, 'P' ripe plant.
int c_render_text(Crafter* env, char* buffer, int size) {
    static const char materials[CR_NUM_MATERIALS] = {' ', '~', '.', '#', '_', ':', 'T', '%', 'c', 'i', 'D', 't', 'f'};
    static const char objects[6] = {'C', 'Z', 'S', '*', 'p', 'P'};
    static const char* facings[4] = {"left", "right", "up", "down"};
    int length = 0;
    text_append(buffer, size, &length, "step %d daylight %.2f health %d food %d drink %d energy %d%s facing %s\n",
                env->steps, env->daylight, env->inventory[CR_HEALTH], env->inventory[CR_FOOD],
                env->inventory[CR_DRINK], env->inventory[CR_ENERGY], env->sleeping ? " sleeping" : "",
                facings[env->facing]);
    for (int y = 0; y < env->size; y++) {
        char row[CR_MAX_SIZE + 2];
        for (int x = 0; x < env->size; x++) {
            int cell = cr_cell(x, y), channel = cr_object_channel(env, cell);
            row[x] = cell == env->player_cell ? '@' : channel >= 0 ? objects[channel] : materials[env->map[cell]];
        }
        row[env->size] = '\n';
        row[env->size + 1] = '\0';
        text_append(buffer, size, &length, "%s", row);
    }
    static const char* items[CR_NUM_ITEMS] = {
        "health", "food", "drink", "energy", "sapling", "wood", "stone", "coal", "iron", "diamond", "wood_pickaxe",
        "stone_pickaxe", "iron_pickaxe", "wood_sword", "stone_sword", "iron_sword"};
    text_append(buffer, size, &length, "inventory");
    for (int i = CR_SAPLING; i < CR_NUM_ITEMS; i++)
        if (env->inventory[i]) text_append(buffer, size, &length, " %s %d", items[i], env->inventory[i]);
#define CR_TEXT_ACHIEVEMENT(name) if (env->achieved[CR_A_##name]) text_append(buffer, size, &length, " " #name);
    text_append(buffer, size, &length, "\nachievements");
    CR_ACHIEVEMENTS(CR_TEXT_ACHIEVEMENT)
#undef CR_TEXT_ACHIEVEMENT
    text_append(buffer, size, &length, "\n");
    return length;
}

void c_close(Crafter* env) { (void)env; }
