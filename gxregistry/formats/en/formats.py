"""English pages write dates as the rest of the registry does (2027-11-30) and times on the 24-hour clock, never
Django's American defaults: "12/01/2026" reads as 12 January to many of the registry's readers, and an
allocation notice's date, a deadline and a signature's time should read the same on every page. Japanese pages
keep Django's Japanese formats (2027年11月30日)."""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
