"""Numbers reported in the papers, kept as data with their source, to show beside our own."""

from __future__ import annotations

from workbench.names import check_name

# A2D (Fu et al.), Sec. 4.1 / App. C.
A2D_PARAMS_VANILLA_OVER_RESNET20 = 5.83  # "5.83x" more parameters in the vanilla agent
A2D_MACS_RESNET38_OVER_VANILLA = 13.7  # "13.7x higher FLOPs" (Atlantis discussion, Sec. 4.1)

# A2D Tab. 1: the 15 Atari games of the model-size scaling study.
A2D_TABLE1_GAMES = (
    "Alien", "Amidar", "Assault", "Asterix", "Asteroids", "BankHeist", "BattleZone", "BeamRider",
    "Boxing", "ChopperCommand", "DemonAttack", "Pong", "SpaceInvaders", "Tennis", "WizardOfWor",
)  # fmt: skip

# A2D Tab. 1: best test score (30 episodes, no-op starts) per game and backbone, 3e7 steps.
A2D_TABLE1_BEST_SCORES: dict[str, dict[str, float]] = {
    "Alien": {
        "vanilla": 1724,
        "resnet14": 9007,
        "resnet20": 9323,
        "resnet38": 8829,
        "resnet74": 4456,
    },
    "Amidar": {
        "vanilla": 721.8,
        "resnet14": 638.6,
        "resnet20": 845.2,
        "resnet38": 138.3,
        "resnet74": 493.9,
    },
    "Assault": {
        "vanilla": 10164,
        "resnet14": 14470,
        "resnet20": 17314,
        "resnet38": 12406.5,
        "resnet74": 9849,
    },
    "Asterix": {
        "vanilla": 4850,
        "resnet14": 708500,
        "resnet20": 856800,
        "resnet38": 756120,
        "resnet74": 539060,
    },
    "Asteroids": {
        "vanilla": 2095,
        "resnet14": 5690,
        "resnet20": 5744,
        "resnet38": 1947,
        "resnet74": 4792,
    },
    "BankHeist": {
        "vanilla": 1152,
        "resnet14": 1288,
        "resnet20": 1284,
        "resnet38": 981,
        "resnet74": 1163,
    },
    "BattleZone": {
        "vanilla": 7600,
        "resnet14": 5800,
        "resnet20": 13100,
        "resnet38": 13300,
        "resnet74": 4100,
    },
    "BeamRider": {
        "vanilla": 5530,
        "resnet14": 23984,
        "resnet20": 25961,
        "resnet38": 29498,
        "resnet74": 30048,
    },
    "Boxing": {
        "vanilla": 4.2,
        "resnet14": 100,
        "resnet20": 100,
        "resnet38": 99.3,
        "resnet74": 87.1,
    },
    "ChopperCommand": {
        "vanilla": 1320,
        "resnet14": 11170,
        "resnet20": 14910,
        "resnet38": 4370,
        "resnet74": 8240,
    },
    "DemonAttack": {
        "vanilla": 318349,
        "resnet14": 481818,
        "resnet20": 484382,
        "resnet38": 494569,
        "resnet74": 448450,
    },
    "Pong": {
        "vanilla": -19.9,
        "resnet14": 21,
        "resnet20": 20.9,
        "resnet38": 20.9,
        "resnet74": 20.8,
    },
    "SpaceInvaders": {
        "vanilla": 1171,
        "resnet14": 9848,
        "resnet20": 46870,
        "resnet38": 17962,
        "resnet74": 15111,
    },
    "Tennis": {
        "vanilla": -23.7,
        "resnet14": 13.8,
        "resnet20": 11.5,
        "resnet38": 19.6,
        "resnet74": 19.3,
    },
    "WizardOfWor": {
        "vanilla": 1320,
        "resnet14": 2690,
        "resnet20": 3580,
        "resnet38": 3160,
        "resnet74": 1850,
    },
}

# Random-policy and human scores per Atari game, the standard normalisation table (random and
# human as in Mnih et al. 2015 and Badia et al. 2020, Agent57, App. H), as collected in
# google/dopamine. Human scores are not published for Defender and Surround.
ATARI_RANDOM_SCORES: dict[str, float] = {
    "Alien": 227.8, "Amidar": 5.8, "Assault": 222.4, "Asterix": 210.0, "Asteroids": 719.1,
    "Atlantis": 12850.0, "BankHeist": 14.2, "BattleZone": 2360.0, "BeamRider": 363.9,
    "Berzerk": 123.7, "Bowling": 23.1, "Boxing": 0.1, "Breakout": 1.7, "Centipede": 2090.9,
    "ChopperCommand": 811.0, "CrazyClimber": 10780.5, "Defender": 2874.5, "DemonAttack": 152.1,
    "DoubleDunk": -18.6, "Enduro": 0.0, "FishingDerby": -91.7, "Freeway": 0.0, "Frostbite": 65.2,
    "Gopher": 257.6, "Gravitar": 173.0, "Hero": 1027.0, "IceHockey": -11.2, "Jamesbond": 29.0,
    "Kangaroo": 52.0, "Krull": 1598.0, "KungFuMaster": 258.5, "MontezumaRevenge": 0.0,
    "MsPacman": 307.3, "NameThisGame": 2292.3, "Phoenix": 761.4, "Pitfall": -229.4,
    "Pong": -20.7, "PrivateEye": 24.9, "Qbert": 163.9, "Riverraid": 1338.5, "RoadRunner": 11.5,
    "Robotank": 2.2, "Seaquest": 68.4, "Skiing": -17098.1, "Solaris": 1236.3,
    "SpaceInvaders": 148.0, "StarGunner": 664.0, "Surround": -10.0, "Tennis": -23.8,
    "TimePilot": 3568.0, "Tutankham": 11.4, "UpNDown": 533.4, "Venture": 0.0,
    "VideoPinball": 0.0, "WizardOfWor": 563.5, "YarsRevenge": 3092.9, "Zaxxon": 32.5,
}  # fmt: skip

ATARI_HUMAN_SCORES: dict[str, float] = {
    "Alien": 7127.7, "Amidar": 1719.5, "Assault": 742.0, "Asterix": 8503.3, "Asteroids": 47388.7,
    "Atlantis": 29028.1, "BankHeist": 753.1, "BattleZone": 37187.5, "BeamRider": 16926.5,
    "Berzerk": 2630.4, "Bowling": 160.7, "Boxing": 12.1, "Breakout": 30.5, "Centipede": 12017.0,
    "ChopperCommand": 7387.8, "CrazyClimber": 35829.4, "DemonAttack": 1971.0,
    "DoubleDunk": -16.4, "Enduro": 860.5, "FishingDerby": -38.7, "Freeway": 29.6,
    "Frostbite": 4334.7, "Gopher": 2412.5, "Gravitar": 3351.4, "Hero": 30826.4, "IceHockey": 0.9,
    "Jamesbond": 302.8, "Kangaroo": 3035.0, "Krull": 2665.5, "KungFuMaster": 22736.3,
    "MontezumaRevenge": 4753.3, "MsPacman": 6951.6, "NameThisGame": 8049.0, "Phoenix": 7242.6,
    "Pitfall": 6463.7, "Pong": 14.6, "PrivateEye": 69571.3, "Qbert": 13455.0,
    "Riverraid": 17118.0, "RoadRunner": 7845.0, "Robotank": 11.9, "Seaquest": 42054.7,
    "Skiing": -4336.9, "Solaris": 12326.7, "SpaceInvaders": 1668.7, "StarGunner": 10250.0,
    "Tennis": -8.3, "TimePilot": 5229.2, "Tutankham": 167.6, "UpNDown": 11693.2,
    "Venture": 1187.5, "VideoPinball": 17667.9, "WizardOfWor": 4756.5, "YarsRevenge": 54576.9,
    "Zaxxon": 9173.3,
}  # fmt: skip


def human_normalized_score(game: str, score: float) -> float:
    """(score - random) / (human - random): 0 is a random policy, 1 a human tester."""
    check_name(game, ATARI_HUMAN_SCORES, "game with a published human score")
    random_score = ATARI_RANDOM_SCORES[game]
    return (score - random_score) / (ATARI_HUMAN_SCORES[game] - random_score)


# A2D Tab. 2 (six games, all four arms) and App. B Tab. 4 (16 games, no reuse-critic arm):
# test scores after 3e7 steps of a vanilla or ResNet-14 student guided by a ResNet-20 teacher.
# Columns per row: none, actor, actor+reuse-critic (None where Tab. 4 has no such column),
# actor+critic. Where a game is in both tables Tab. 2 is kept; the two agree except WizardOfWor
# vanilla `actor`, which Tab. 2 gives as 5560 and Tab. 4 as 6310 (Tab. 2's reuse-critic figure).
_A2D_DISTILL_ROWS: dict[str, dict[str, tuple[float | None, ...]]] = {
    "A2D Tab. 2": {
        "Alien": (1724, 3096, 249, 3419, 9007, 14682, 12674, 15723),
        "SpaceInvaders": (1171, 26821, 30124, 39274, 9848, 76246, 79287, 111189),
        "WizardOfWor": (1320, 5560, 6310, 5960, 2690, 6300, 4640, 5450),
        "Asterix": (4850, 59020, 37780, 64510, 708500, 749870, 695550, 849400),
        "BattleZone": (7600, 12700, 14200, 14500, 5800, 16300, 16400, 18200),
        "BeamRider": (5530, 14417, 15432, 17806, 23984, 38311, 37350, 42365),
    },
    "A2D Tab. 4": {
        "Atlantis": (3064320, 3159240, None, 3160470, 3127390, 2845630, None, 3148450),
        "TimePilot": (4780, 9800, None, 10200, 9070, 10490, None, 10510),
        "Qbert": (15085, 15687.5, None, 15625, 13587, 17980, None, 15470),
        "Amidar": (721.8, 1452.5, None, 1340.6, 638.6, 1439, None, 1450.2),
        "Asteroids": (2095, 4131, None, 4647, 5690, 15371, None, 15947),
        "Boxing": (4.2, 2.8, None, 100, 100, 100, None, 100),
        "Centipede": (5025, 5800, None, 6575.5, 6690, 7744.3, None, 8056.9),
        "ChopperCommand": (1320, 15900, None, 19120, 11170, 26320, None, 31190),
        "CrazyClimber": (118300, 138610, None, 145700, 128710, 135290, None, 138470),
        "DemonAttack": (318349, 463823, None, 483490, 481818, 517801, None, 521051),
    },
}
_DISTILL_COLUMNS = tuple(
    (student, arm)
    for student in ("vanilla", "resnet14")
    for arm in ("none", "actor", "actor+reuse-critic", "actor+critic")
)


def a2d_distillation_scores() -> list[dict]:
    """A2D's distillation results as records: game, student, distill (arm), score, source."""
    return [
        {"game": game, "student": student, "distill": arm, "score": score, "source": source}
        for source, rows in _A2D_DISTILL_ROWS.items()
        for game, values in rows.items()
        for (student, arm), score in zip(_DISTILL_COLUMNS, values, strict=True)
        if score is not None
    ]


# RL-DARTS (ICLR 2022 submission), Tab. 4: average normalised reward over the 16 Procgen games
# with PPO + the Classic space, after 25M steps at depths 64x3.
RLDARTS_TABLE4_PPO: dict[str, float] = {
    "IMPALA-CNN": 0.708,
    "RL-DARTS (discrete cell)": 0.709,
    "Random Search": 0.489,
}

# RL-DARTS App. D, Tab. 5a (PPO + Classic, 25M steps, depths 64x3): normalised reward per game,
# (IMPALA-CNN, RL-DARTS discrete cell, random search). Its column means round to Tab. 4's.
RLDARTS_TABLE5A_PPO_CLASSIC: dict[str, tuple[float, float, float]] = {
    "Bigfish": (0.60, 0.60, 0.42), "Bossfight": (0.75, 0.73, 0.81),
    "Caveflyer": (0.75, 0.47, 0.85), "Chaser": (0.71, 0.55, 0.15),
    "Climber": (0.69, 0.90, 0.61), "Coinrun": (0.91, 0.53, 0.8),
    "Dodgeball": (0.53, 0.59, 0.29), "Fruitbot": (0.92, 0.93, 0.83),
    "Heist": (0.72, 0.89, 0.38), "Jumper": (0.62, 0.76, 1.0),
    "Leaper": (0.2, 0.28, -0.28), "Maze": (1.0, 1.0, 0.0),
    "Miner": (0.74, 0.85, 0.70), "Ninja": (0.87, 0.69, 0.38),
    "Plunder": (0.57, 0.76, 0.43), "Starpilot": (0.71, 0.73, 0.40),
}  # fmt: skip

# RL-DARTS Sec. 4.4 and App. G.1: "Classic" total size is about 4 x 10^11 discrete cells.
RLDARTS_CLASSIC_SEARCH_SPACE_SIZE = 4e11

# Cobbe et al. (2020), "Leveraging procedural generation to benchmark RL", App. C: the (R_min,
# R_max) of each game in easy mode, which RL-DARTS App. D normalises by:
# R_norm = (R - R_min) / (R_max - R_min).
PROCGEN_EASY_RETURN_BOUNDS: dict[str, tuple[float, float]] = {
    "Bigfish": (1.0, 40.0), "Bossfight": (0.5, 13.0), "Caveflyer": (3.5, 12.0),
    "Chaser": (0.5, 13.0), "Climber": (2.0, 12.6), "Coinrun": (5.0, 10.0),
    "Dodgeball": (1.5, 19.0), "Fruitbot": (-1.5, 32.4), "Heist": (3.5, 10.0),
    "Jumper": (3.0, 10.0), "Leaper": (3.0, 10.0), "Maze": (5.0, 10.0), "Miner": (1.5, 13.0),
    "Ninja": (3.5, 10.0), "Plunder": (4.5, 30.0), "Starpilot": (2.5, 64.0),
}  # fmt: skip


def procgen_normalized_return(game: str, score: float) -> float:
    """(score - R_min) / (R_max - R_min) with Cobbe et al. (2020)'s easy-mode bounds."""
    check_name(game, PROCGEN_EASY_RETURN_BOUNDS, "Procgen game")
    low, high = PROCGEN_EASY_RETURN_BOUNDS[game]
    return (score - low) / (high - low)
