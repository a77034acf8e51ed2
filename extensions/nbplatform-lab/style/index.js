import './base.css';
import './features.css';
import './jobs.css';
import './models.css';
