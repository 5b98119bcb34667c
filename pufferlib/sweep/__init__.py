"""Sweeps: `puffer sweep ENV` searches hyperparameters over a config's [sweep.<section>.<key>] spaces.

    spaces    the [sweep.*] spaces: parsing, the unit cube the methods search in, applying a point to a config
    methods   the search methods (Random, Protein): suggest the next point from the observations so far
    pbt       population-based training (method = PBT): members trained a period at a time, exploit and explore
    store     the SQLite record of every trial, so a killed sweep resumes
    runner    the loop: one trial = one `puffer train` process; backends (local workers, Ray), devices, best.ini
"""
