"""The app's pages, one blueprint each: `search` (the form and its results), `results` (the evaluation), `media`
(registry videos and poses for the cards), `browse` (glosses and their videos)."""
