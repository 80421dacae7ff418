"""Pose stage: MediaPipe Holistic on videos, bad-video detection, the per-shard jobs and the pose index."""
