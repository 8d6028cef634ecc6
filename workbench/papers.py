"""Numbers reported in the papers, kept as data with their source, to show beside our own."""

from __future__ import annotations

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
