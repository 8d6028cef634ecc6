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
