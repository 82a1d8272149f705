// A duty page: the people called about one alert, in order, and what became of each message.
import type { Severity } from '../contracts/index.js';
import type { Team } from './config.js';

export interface DutyMessage {
  /** Index in the roster: 0 is the person on duty, 1 the next, ... */
  step: number;
  person: { name: string; phone: string };
  /** The robot's message (`robot`, the robot's name in `robots`) or a text to the phone (`sms`, the city's SMS gateway). */
  channel: 'robot' | 'sms';
  robot?: string;
  status: 'pending' | 'sent' | 'failed' | 'cancelled';
  attempts: number;
  /** Next attempt (epoch ms) while pending; a quiet hour moves it to the window's end. */
  nextAt: number;
  sentAt?: number;
  lastError?: string;
}

export interface DutyPage {
  alertId: string;
  district: string;
  team: Team;
  severity: Severity;
  createdAt: number;
  /** The step called last, and from when its person has had the alert (their message's time, after quiet hours). */
  step: number;
  stepSince: number;
  messages: DutyMessage[];
  /** Who took it on (the link's person, or the console's user) and when; escalation stops then. */
  acknowledged?: { by: string; at: number; via: 'link' | 'console' };
  /** When the next message or escalation is due; null when nothing is left to do. */
  nextAt: number | null;
}
