"""Planning, with no jsii: weight-loading strategies and the budgets derived from the model size
(``loading``), the cold-start planner (``planner``), its charts (``gantt``) and measured share
results (``share_results``)."""
