"""Every component id the callbacks and the browser tests use, in one place."""

from __future__ import annotations

URL = "url"
URL_STATUS = "url-status"
NAV = "nav"  # pattern {"type": NAV, "page": key}
QUERY = "page-query"  # the page's state, read from the address: {"page", "runs", *address.TEXT_KEYS}
VIEW = "page-view"

# run controls (every page)
SCENARIO_FILES = "scenario-files"
REPLICATES = "replicates"
SEED = "seed"
RUN_BUTTON = "run-button"
CANCEL_BUTTON = "cancel-button"
RUN_PROGRESS = "run-progress"
RUN_PROGRESS_TEXT = "run-progress-text"
RUN_STATUS = "run-status"
RUN_PICKER = "run-picker"
EXPORT_FORMAT = "export-format"
EXPORT_BUTTON = "export-button"
PACK_BUTTON = "pack-button"
EXPORT_DOWNLOAD = "export-download"
EXPORT_STATUS = "export-status"

# tables
TABLE = "table"  # pattern {"type": TABLE, "key": title}
CSV_BUTTON = "csv-button"
CSV_DOWNLOAD = "csv-download"
FIGURE = "figure"

# timeline
GANTT_REPLICATE = "gantt-replicate"
GANTT_TYPICAL = "gantt-typical"

# cell product
PLAN_TARGET = "plan-target"
PLAN_BUTTON = "plan-button"
PLAN_CANCEL = "plan-cancel"
PLAN_MADE = "plan-made"  # the stored lot plan's run id, handed to the run picker
PLAN_PROGRESS = "plan-progress"
PLAN_RESULT = "plan-result"

# forecast
FORECAST_SCENARIO = "forecast-scenario"
FORECAST_RECORDS = "forecast-records"
FORECAST_AS_OF = "forecast-as-of"
FORECAST_LEARNING = "forecast-learning"
FORECAST_BUTTON = "forecast-button"
FORECAST_CANCEL = "forecast-cancel"
FORECAST_PROGRESS = "forecast-progress"
FORECAST_UPLOAD = "forecast-upload"
FORECAST_UPLOAD_STORE = "forecast-upload-store"
FORECAST_RECORDS_STATUS = "forecast-records-status"
FORECAST_STATUS = "forecast-status"
FORECAST_MADE = "forecast-made"  # the stored forecast's run id, handed to the run picker
FORECAST_TARGETS = "forecast-targets"  # the target dates asked of the shown forecasts (in the address)
FORECAST_SOURCE = "forecast-source"  # what the shown forecast was made from, where the controls cannot show it
FORECAST_SET = "forecast-set"  # the forecast shown, records and as-of date the controls were last set from

# scenario
SCENARIO_DETAIL = "scenario-detail"
UPLOAD = "upload"
UPLOAD_RESULT = "upload-result"
SCENARIO_VIEW = "scenario-view"
SCENARIO_TEXT = "scenario-text"  # the editor
SCENARIO_TEXT_NAME = "scenario-text-name"  # the file the editor's text came from
SCENARIO_CHECK = "scenario-check"
SCENARIO_RUN = "scenario-run"
SCENARIO_RUN_CANCEL = "scenario-run-cancel"
SCENARIO_RUN_PROGRESS = "scenario-run-progress"
SCENARIO_WITH_BASE = "scenario-with-base"  # also run the file the text came from (a what-if and its base)
SCENARIO_SAVE_NAME = "scenario-save-name"
SCENARIO_SAVE = "scenario-save"
SCENARIO_STATUS = "scenario-status"
SCENARIO_MADE = "scenario-made"  # the run just stored from the editor, handed to the run picker
