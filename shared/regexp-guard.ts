/**
 * Regular expressions come from workflows (form `pattern`, JSONata's regex literals and `$match`)
 * and no evaluation budget can interrupt a regex stuck backtracking (`/(a+)+$/` on 30 characters
 * takes tens of seconds). V8 can switch such a regex to its linear-time engine once it backtracks
 * excessively; this turns that on for the process, before any workflow regex is compiled.
 */
import v8 from 'node:v8';

v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
