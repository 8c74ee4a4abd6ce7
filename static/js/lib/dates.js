// Dates as every page writes them: the weekday and the year always ("Sat 1 Jan
// 2022"), on Seattle's clock, as the server's templates do (core.local_time.DAY_FORMAT).

const cache = {};
function parts(timeZone) {
  if (!cache[timeZone]) {
    cache[timeZone] = {
      day: new Intl.DateTimeFormat("en-GB", { timeZone, weekday: "short", day: "numeric", month: "short", year: "numeric" }),
      hour: new Intl.DateTimeFormat("en-US", { timeZone, hour: "numeric", minute: "2-digit" }),
    };
  }
  return cache[timeZone];
}

/** "Sat 1 Jan 2022": the day of an ISO time (or Date) in `timeZone`. */
export function dayLabel(when, timeZone) {
  const p = {};
  for (const { type, value } of parts(timeZone).day.formatToParts(new Date(when))) { p[type] = value; }
  return `${p.weekday} ${p.day} ${p.month} ${p.year}`;
}

/** "10:00 AM": the clock time of an ISO time (or Date) in `timeZone`. */
export function hourLabel(when, timeZone) { return parts(timeZone).hour.format(new Date(when)); }

/** "Sat 1 Jan 2022, 10:00 AM". */
export function dayTimeLabel(when, timeZone) { return dayLabel(when, timeZone) + ", " + hourLabel(when, timeZone); }
