"""Actor-critic training: returns and losses (pure functions), schedules, rollouts, the A2C loop."""
