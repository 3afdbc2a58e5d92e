"""One module per report section; importing this package registers the experiment sections
(``@section(NAME)`` in each of table1, fig_bloat, fig_promotion, fig_fairness, sweep,
overhead, mmu_overhead, validation)."""
from report.render.sections import (fig_bloat, fig_fairness, fig_promotion,  # noqa: F401
                                    mmu_overhead, overhead, sweep, table1, validation)
