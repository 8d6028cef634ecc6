"""Agent backbones (registry), the actor-critic wrapper and the profiler. Which agent a run
config describes is its run kind's to say (workbench.runs.kinds.build_agent)."""

# Importing the backbone modules registers them, whatever the caller imported first.
from workbench.models import impala_cnn, nature_cnn, resnet_cifar  # noqa: F401
from workbench.models.actor_critic import ActorCritic, create_agent
from workbench.models.registry import create_model, list_models, register_model

__all__ = [
    "ActorCritic",
    "create_agent",
    "create_model",
    "list_models",
    "register_model",
]
