"""Pose estimation stage: MediaPipe Holistic on videos, bad-video detection, and the per-shard job."""
