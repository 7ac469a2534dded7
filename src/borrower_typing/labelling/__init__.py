"""The labelling loop: choose the notes worth a human's time, hand them to Label Studio (or a spreadsheet),
and bring the labels back as a training file.

- ``selection``: which notes to label (review rows, uncertainty with diversity, label-audit doubts, random).
- ``tasks``: Label Studio tasks with pre-annotations, the labelling config (XML), the spreadsheet variant.
- ``imports``: a Label Studio export (or the filled spreadsheet) back to one labelled row per note, with
  inter-annotator agreement.
- ``studio``: optional push and pull through a running Label Studio.
"""
