"""course_tools: what maintainers and instructors run on the course; learners never import it.

``python -m course_tools <command>`` (or ``course-tools``): build-notebooks, clean-notebooks, grade,
make-checkpoints, timings, site. Modules: :mod:`~course_tools.authoring` (learner notebooks from solutions),
:mod:`~course_tools.checkpoints` (train the recipes into ready-made checkpoints), :mod:`~course_tools.grading`
(grade submitted notebooks), :mod:`~course_tools.syllabus` (lesson timings), :mod:`~course_tools.quality`
(the floors nbval checks), :mod:`~course_tools.site` (the course as an HTML book). It builds on ``course_lib``; ``course_lib`` never imports it.
"""

__all__ = ["authoring", "checkpoints", "grading", "quality", "site", "syllabus"]
