"""The rule sets the scorers follow: VLMEvalKit's matching and normalisation as of a
given commit (docs/paper_profile.md §1.4 lists where they differ)."""

# The VLMEvalKit commit the authors' README pins; the paper's Table 1 was scored with it.
PINNED = "vlmevalkit-0ff0c3e"
# Today's VLMEvalKit rules, as current leaderboards score.
LATEST = "vlmevalkit-latest"
RULE_SETS = (PINNED, LATEST)
