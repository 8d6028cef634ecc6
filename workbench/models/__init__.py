"""Agent backbones (registry), the actor-critic wrapper and the profiler."""

# Importing the backbone modules registers them, whatever the caller imported first.
from workbench.models import impala_cnn, nature_cnn, resnet_cifar  # noqa: F401
from workbench.models.actor_critic import (
    ActorCritic,
    agent_from_state,
    build_agent,
    create_agent,
)
from workbench.models.registry import create_model, list_models, register_model

__all__ = [
    "ActorCritic",
    "agent_from_state",
    "build_agent",
    "create_agent",
    "create_model",
    "list_models",
    "register_model",
]
